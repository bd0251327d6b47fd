//! What only the tokio host has: the choice of where a handler runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use mpplugin::tokio::{Execution, Host};
use mpplugin::{Ending, Message, Plugin};

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
        // for the only thread. A task spawned after it still runs before the
        // plugin is done: the plugin yields every 128 messages.
        let seen_by_other_task = tokio::spawn(async move { counter.load(Ordering::SeqCst) })
            .await
            .unwrap();
        assert!(
            seen_by_other_task < MESSAGES,
            "the other task ran only after all {seen_by_other_task} messages"
        );
        host.end().await
    });
    assert_eq!(exits[0].ending, Ending::Finished);
    assert_eq!(handled.load(Ordering::SeqCst), MESSAGES);
}

#[test]
fn a_cancelled_end_still_stops_every_plugin_when_the_host_is_dropped() {
    let (permit, permits) = mpsc::channel();
    let (record_probe, record) = mpplugin_tests::probe::Probe::new();
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    runtime.block_on(async {
        let mut host = Host::<u64>::new();
        host.attach_with(record_probe.gated(permits), 64, Execution::Blocking);
        for value in 0..10 {
            host.send(value).await.unwrap();
        }
        // The plugin waits at its gate, so `end` cannot finish in time.
        // Cancelling it drops the host, which waits for the message in
        // progress: open the gate a little later, from another thread.
        let opener = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            drop(permit);
        });
        let ended = tokio::time::timeout(Duration::from_millis(20), host.end()).await;
        assert!(ended.is_err(), "end finished while the plugin was blocked");
        opener.join().unwrap();
    });
    // The host went with the cancelled `end`: the plugin must have been
    // dropped by then, having handled nothing after the message in progress.
    assert!(
        record.dropped.load(Ordering::SeqCst),
        "the plugin outlived its host"
    );
    assert!(record.seen().len() <= 1, "{:?}", record.seen());
    drop(runtime);
}
