//! What only the tokio host has: the choice of where a handler runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use mpplugin::tokio::{Execution, Host};
use mpplugin::{Ending, Message, Plugin};
use mpplugin_tests::watchdog::wait_until;

/// Blocks in its handler until the runtime's other task sends a permit.
struct WaitsForPermit(mpsc::Receiver<()>);

impl Plugin<u64> for WaitsForPermit {
    fn handle_message(&mut self, _: Message<u64>) -> Option<u8> {
        self.0.recv().expect("a permit");
        None
    }
}

/// Runs `body` on a current-thread runtime (one thread for every task) in a
/// thread of its own, and fails instead of hanging if it does not finish.
fn on_one_thread_within(
    limit: Duration,
    body: impl Future<Output = Vec<mpplugin::Exit>> + Send + 'static,
) -> Vec<mpplugin::Exit> {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = done.send(runtime.block_on(body));
    });
    finished
        .recv_timeout(limit)
        .expect("the runtime was starved: the handler's permit never came")
}

#[test]
fn blocking_execution_keeps_a_long_handler_off_the_runtime() {
    let exits = on_one_thread_within(Duration::from_secs(30), async {
        let (permit, permits) = mpsc::channel();
        let mut host = Host::<u64>::new();
        host.attach_with(WaitsForPermit(permits), 8, Execution::Blocking);
        host.send(1).await.unwrap();
        // The handler now blocks its thread. This task, on the runtime's only
        // thread, still runs: it sleeps on the runtime's timer, then sends.
        tokio::time::sleep(Duration::from_millis(10)).await;
        permit.send(()).unwrap();
        host.end().await
    });
    assert_eq!(exits[0].ending, Ending::Finished);
    assert_eq!(exits[0].handled, 1);
}

#[test]
fn attach_blocking_is_the_blocking_execution() {
    let exits = on_one_thread_within(Duration::from_secs(30), async {
        let (permit, permits) = mpsc::channel();
        let mut host = Host::<u64>::new();
        host.attach_blocking(WaitsForPermit(permits));
        host.send(1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        permit.send(()).unwrap();
        host.end().await
    });
    assert_eq!(exits[0].handled, 1);
}

/// Counts its messages where a test can read them; never blocks.
struct Count(Arc<AtomicU64>);

impl Plugin<u64> for Count {
    fn handle_message(&mut self, _: Message<u64>) -> Option<u8> {
        self.0.fetch_add(1, Ordering::SeqCst);
        None
    }
}

#[test]
fn task_execution_yields_to_other_tasks_while_it_has_messages() {
    const MESSAGES: u64 = 10_000;
    let handled = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&handled);
    let exits = on_one_thread_within(Duration::from_secs(30), async move {
        let mut host = Host::<u64>::new();
        host.attach_with_capacity(Count(Arc::clone(&counter)), MESSAGES as usize);
        for value in 0..MESSAGES {
            host.try_send(value).unwrap();
        }
        // The plugin task now has every message queued and is first in line
        // for the only thread. A task spawned after it runs once the plugin
        // yields, which it does after at most 128 messages: on one thread,
        // exactly so.
        let seen_by_other_task = tokio::spawn(async move { counter.load(Ordering::SeqCst) })
            .await
            .unwrap();
        assert!(
            (1..=128).contains(&seen_by_other_task),
            "the other task ran after {seen_by_other_task} messages, not after the plugin's first 1 to 128"
        );
        host.end().await
    });
    assert_eq!(exits[0].ending, Ending::Finished);
    assert_eq!(handled.load(Ordering::SeqCst), MESSAGES);
}

#[test]
fn a_cancelled_end_still_stops_every_plugin_when_the_host_is_dropped() {
    let (permit, permits) = mpsc::channel::<()>();
    let (record_probe, record) = mpplugin_tests::probe::Probe::new();
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    // A runtime that nobody drives: a plugin attached on it is never run,
    // never finishes, and is still the host's when the host is dropped.
    let undriven = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut host = Host::<u64>::new();
        // It holds the gate of the plugin attached after it. The host's drop
        // closes every queue, discarding what is queued, then drops the
        // plugins in attach order: it drops this one first, opening the gate
        // only once nothing queued can be handled any more.
        let (holder, _) = mpplugin_tests::probe::Probe::new();
        {
            let _never_run = undriven.enter();
            host.attach_with(holder.holding(permit), 64, Execution::Task);
        }
        host.attach_with(record_probe.gated(permits), 64, Execution::Blocking);
        for value in 0..10 {
            host.send(value).await.unwrap();
        }
        wait_until(
            "the plugin to wait at its gate with message 0",
            Duration::from_secs(60),
            || record.started.load(Ordering::SeqCst) == 1,
        );
        // Neither plugin can finish, so `end` cannot. Cancelling it drops the
        // host, which does not wait for the message in progress (a cancelled
        // `end` never blocks the executor, issue 13).
        let ended = tokio::time::timeout(Duration::from_millis(20), host.end()).await;
        assert!(ended.is_err(), "end finished while the plugin was blocked");
    });
    // The gate opened with the first plugin's drop; once its handler
    // returns, the gated plugin's own thread drops it, having handled
    // nothing after the message in progress.
    wait_until(
        "the plugin of the cancelled end to be dropped",
        Duration::from_secs(60),
        || record.dropped.load(Ordering::SeqCst),
    );
    assert_eq!(
        record.seen(),
        [0],
        "the message in progress is finished, and nothing after it"
    );
    drop(runtime);
}
