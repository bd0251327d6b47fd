//! Shutdown in bounded time. A plugin stuck in its handler is abandoned at
//! the deadline (std `end_timeout`/`end_by`, tokio `end_timeout`/`end_by`,
//! and a tokio `end` cancelled by the caller's own timeout): it is reported
//! as such, left to finish on its own thread or task, handles nothing more,
//! and is dropped by its worker once its handler returns, never while it
//! runs; every other plugin ends normally and every exit comes back. And a
//! tokio runtime dropped before the host does not hang, whatever the
//! plugins' execution. Before: `end` and a cancelled `end` waited for the
//! stuck handler forever, and dropping the runtime first hung with a plugin
//! on the blocking pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant};

use mpplugin::tokio::Execution;
use mpplugin::{Ending, Exit, Message, Plugin};
use mpplugin_tests::driver::two_worker_runtime;
use mpplugin_tests::probe::Probe;
use mpplugin_tests::watchdog::watchdog;

const LIMIT: Duration = Duration::from_secs(120);

/// The deadline given to a shutdown with a stuck plugin. Every other plugin
/// has handled all it was sent before the shutdown starts (the tests wait
/// for that), so it only has to see its queue closed and end: far less
/// than this even on a loaded machine or under a sanitizer.
const DEADLINE: Duration = Duration::from_secs(5);

/// What a [`Stuck`] plugin did, shared with the test.
#[derive(Default)]
struct Trace {
    calls: AtomicU64,
    running: AtomicBool,
    dropped_while_running: AtomicBool,
}

/// Enters its handler, says so, and waits at a gate the test opens only
/// after the shutdown returned.
struct Stuck {
    trace: Arc<Trace>,
    entered: SyncSender<()>,
    gate: Receiver<()>,
    dropped: SyncSender<()>,
}

impl Plugin<u64> for Stuck {
    fn handle_message(&mut self, _: Message<u64>) -> Option<u8> {
        self.trace.running.store(true, Ordering::SeqCst);
        self.trace.calls.fetch_add(1, Ordering::SeqCst);
        let _ = self.entered.send(());
        // A closed gate lets everything through.
        let _ = self.gate.recv();
        self.trace.running.store(false, Ordering::SeqCst);
        None
    }

    fn name(&self) -> &str {
        "stuck"
    }
}

impl Drop for Stuck {
    fn drop(&mut self) {
        if self.trace.running.load(Ordering::SeqCst) {
            self.trace
                .dropped_while_running
                .store(true, Ordering::SeqCst);
        }
        let _ = self.dropped.send(());
    }
}

/// The test's ends of a [`Stuck`] plugin.
struct Handles {
    trace: Arc<Trace>,
    entries: Receiver<()>,
    gate: mpsc::Sender<()>,
    drops: Receiver<()>,
}

fn stuck() -> (Stuck, Handles) {
    let trace = Arc::new(Trace::default());
    let (entered, entries) = mpsc::sync_channel(100);
    let (gate, permits) = mpsc::channel();
    let (dropped, drops) = mpsc::sync_channel(1);
    let plugin = Stuck {
        trace: Arc::clone(&trace),
        entered,
        gate: permits,
        dropped,
    };
    let handles = Handles {
        trace,
        entries,
        gate,
        drops,
    };
    (plugin, handles)
}

impl Handles {
    /// Opens the gate after the shutdown returned: the handler returns, the
    /// worker handles nothing more and drops the plugin on its own thread or
    /// task. Checks that it did exactly that.
    fn release_and_check(self) {
        assert_eq!(self.trace.calls.load(Ordering::SeqCst), 1);
        assert!(
            self.drops.try_recv().is_err(),
            "the plugin was dropped while its handler ran"
        );
        drop(self.gate);
        self.drops.recv().expect("the abandoned plugin is dropped");
        assert!(!self.trace.dropped_while_running.load(Ordering::SeqCst));
        assert_eq!(
            self.trace.calls.load(Ordering::SeqCst),
            1,
            "an abandoned plugin handled messages queued after its deadline"
        );
    }
}

/// The stuck plugin's exit: abandoned in the first message of three.
fn assert_abandoned(exit: &Exit) {
    assert_eq!(exit.ending, Ending::Abandoned, "{exit}");
    assert_eq!(exit.name, "stuck");
    assert_eq!(exit.handled, 1, "{exit}");
    assert!(exit.to_string().contains("abandoned"), "{exit}");
}

/// The exits of a stuck plugin (attached first) and a probe that handled
/// 0, 1, 2.
fn assert_exits(exits: &[Exit]) {
    assert_eq!(exits.len(), 2, "every exit comes back: {exits:?}");
    assert_abandoned(&exits[0]);
    assert_eq!(exits[1].ending, Ending::Finished, "{}", exits[1]);
    assert_eq!((exits[1].handled, exits[1].unhandled), (3, 0));
    assert_eq!(exits[1].id.index(), 1);
}

/// Waits (under the watchdog) until the probe has seen all three messages.
fn until_seen_three(record: &mpplugin_tests::probe::Record) {
    while record.seen().len() < 3 {
        std::thread::yield_now();
    }
}

#[test]
fn std_end_timeout_abandons_a_stuck_plugin_and_ends_the_rest() {
    let _watchdog = watchdog("std end_timeout with a stuck plugin".into(), LIMIT);
    let (plugin, handles) = stuck();
    let (probe, record) = Probe::new();
    let mut host = mpplugin::Host::<u64>::new();
    host.attach(plugin);
    host.attach(probe);
    for value in 0..3 {
        host.send(value).unwrap();
    }
    handles.entries.recv().unwrap();
    until_seen_three(&record);
    let exits = host.end_timeout(DEADLINE);
    assert_exits(&exits);
    assert!(record.dropped.load(Ordering::SeqCst), "the probe ended");
    handles.release_and_check();
}

#[test]
fn std_end_by_a_deadline_every_plugin_meets_is_end() {
    let _watchdog = watchdog("std end_by".into(), LIMIT);
    let mut host = mpplugin::Host::<u64>::new();
    let (detacher, _) = Probe::new();
    host.attach(detacher.detach_at(1, 9));
    let (probe, _) = Probe::new();
    host.attach(probe);
    // The third message reaches the detacher only if it has not detached
    // yet when that send writes: then it is counted as unhandled, and
    // otherwise the send reports the detacher gone. Either is right; the
    // sends say which happened.
    let mut reached_detacher = 0;
    for value in 0..3 {
        if host.send(value).unwrap().delivered == 2 {
            reached_detacher += 1;
        }
    }
    let exits = host.end_by(Instant::now() + LIMIT);
    assert_eq!(exits.len(), 2);
    assert_eq!(exits[0].ending, Ending::Detached(9));
    assert_eq!(exits[0].handled, 2);
    assert_eq!(exits[0].handled + exits[0].unhandled, reached_detacher);
    assert_eq!(exits[1].ending, Ending::Finished);
    assert_eq!((exits[1].handled, exits[1].unhandled), (3, 0));
}

/// The tokio host's `end_timeout`, the stuck plugin attached with
/// `execution`.
fn tokio_end_timeout_abandons_a_stuck_plugin(execution: Execution) {
    let _watchdog = watchdog(format!("tokio end_timeout, {execution:?}"), LIMIT);
    let (plugin, handles) = stuck();
    let (probe, record) = Probe::new();
    let runtime = two_worker_runtime();
    let exits = runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<u64>::new();
        host.attach_with(plugin, 16, execution);
        host.attach_with(probe, 16, execution);
        for value in 0..3 {
            host.send(value).await.unwrap();
        }
        handles.entries.recv().unwrap();
        until_seen_three(&record);
        host.end_timeout(DEADLINE).await
    });
    assert_exits(&exits);
    handles.release_and_check();
    drop(runtime);
}

#[test]
fn tokio_end_timeout_abandons_a_stuck_task() {
    tokio_end_timeout_abandons_a_stuck_plugin(Execution::Task);
}

#[test]
fn tokio_end_timeout_abandons_a_stuck_blocking_plugin() {
    tokio_end_timeout_abandons_a_stuck_plugin(Execution::Blocking);
}

#[test]
fn tokio_end_by_a_deadline_every_plugin_meets_is_end() {
    let _watchdog = watchdog("tokio end_by".into(), LIMIT);
    let runtime = two_worker_runtime();
    let exits = runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<u64>::new();
        let (detacher, _) = Probe::new();
        host.attach_with(detacher.detach_at(1, 9), 16, Execution::Task);
        let (probe, _) = Probe::new();
        host.attach_with(probe, 16, Execution::Blocking);
        // As in the std case above.
        let mut reached_detacher = 0;
        for value in 0..3 {
            let delivery = host.send(value).await.unwrap();
            if delivery.delivered == 2 {
                reached_detacher += 1;
            }
        }
        (host.end_by(Instant::now() + LIMIT).await, reached_detacher)
    });
    let (exits, reached_detacher) = exits;
    assert_eq!(exits.len(), 2);
    assert_eq!(exits[0].ending, Ending::Detached(9));
    assert_eq!(exits[0].handled, 2);
    assert_eq!(exits[0].handled + exits[0].unhandled, reached_detacher);
    assert_eq!(exits[1].ending, Ending::Finished);
    assert_eq!((exits[1].handled, exits[1].unhandled), (3, 0));
}

/// `tokio::time::timeout(…, host.end())` returns at its deadline even with
/// a plugin stuck in its handler: the cancelled `end` drops the host
/// without waiting for the stuck plugin.
fn a_cancelled_end_does_not_wait_for_a_stuck_plugin(execution: Execution) {
    let _watchdog = watchdog(format!("a cancelled end, {execution:?}"), LIMIT);
    let (plugin, handles) = stuck();
    let (probe, record) = Probe::new();
    let runtime = two_worker_runtime();
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<u64>::new();
        host.attach_with(plugin, 16, execution);
        host.attach_with(probe, 16, execution);
        for value in 0..3 {
            host.send(value).await.unwrap();
        }
        handles.entries.recv().unwrap();
        until_seen_three(&record);
        let ended = tokio::time::timeout(Duration::from_millis(50), host.end()).await;
        assert!(ended.is_err(), "end finished with a plugin stuck");
    });
    handles.release_and_check();
    // The probe that was not stuck ends as well, on its own.
    while !record.dropped.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    drop(runtime);
}

#[test]
fn a_cancelled_end_does_not_wait_for_a_stuck_task() {
    a_cancelled_end_does_not_wait_for_a_stuck_plugin(Execution::Task);
}

#[test]
fn a_cancelled_end_does_not_wait_for_a_stuck_blocking_plugin() {
    a_cancelled_end_does_not_wait_for_a_stuck_plugin(Execution::Blocking);
}

/// A tokio host with a plugin of each execution (blocking first), each of
/// which has handled three messages, and the runtime they ran on dropped.
fn host_whose_runtime_went() -> (
    mpplugin::tokio::Host<u64>,
    Arc<mpplugin_tests::probe::Record>,
    Arc<mpplugin_tests::probe::Record>,
) {
    let runtime = two_worker_runtime();
    let (blocking, blocking_record) = Probe::new();
    let (task, task_record) = Probe::new();
    let mut host = mpplugin::tokio::Host::<u64>::new();
    runtime.block_on(async {
        host.attach_with(blocking, 16, Execution::Blocking);
        host.attach_with(task, 16, Execution::Task);
        for value in 0..3 {
            host.send(value).await.unwrap();
        }
    });
    until_seen_three(&blocking_record);
    until_seen_three(&task_record);
    drop(runtime);
    (host, blocking_record, task_record)
}

/// The runtime goes first, with plugins of both executions attached and
/// waiting for messages: its drop returns, and so does the host's after.
#[test]
fn dropping_the_runtime_before_the_host_does_not_hang() {
    let _watchdog = watchdog("the runtime dropped before the host".into(), LIMIT);
    let (host, blocking_record, task_record) = host_whose_runtime_went();
    drop(host);
    assert!(blocking_record.dropped.load(Ordering::SeqCst));
    assert!(task_record.dropped.load(Ordering::SeqCst));
}

/// After the runtime went, `end` on another runtime still returns every
/// exit: the plugin on its own thread finishes, the task that the runtime
/// dropped is reported abandoned.
#[test]
fn end_after_the_runtime_went_returns_every_exit() {
    let _watchdog = watchdog("end after the runtime went".into(), LIMIT);
    let (host, blocking_record, task_record) = host_whose_runtime_went();
    let exits = two_worker_runtime().block_on(host.end());
    assert_eq!(exits.len(), 2);
    assert_eq!(exits[0].ending, Ending::Finished, "{}", exits[0]);
    assert_eq!((exits[0].handled, exits[0].unhandled), (3, 0));
    assert_eq!(exits[1].ending, Ending::Abandoned, "{}", exits[1]);
    assert_eq!(exits[1].handled, 3, "{}", exits[1]);
    assert!(blocking_record.dropped.load(Ordering::SeqCst));
    assert!(task_record.dropped.load(Ordering::SeqCst));
}
