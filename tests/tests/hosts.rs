//! The hosts' guarantees, with in-process plugins, for the std host and the
//! tokio host (task and blocking execution): order, no loss, exits,
//! panics, backpressure, `try_send`, `end` and drop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use mpplugin::{Ending, TrySendError};
use mpplugin_tests::driver::Driver;
use mpplugin_tests::probe::{Doubler, Probe, Request, Sequence};
use mpplugin_tests::threads::{sleeping, this_thread};
use mpplugin_tests::watchdog::wait_until;

/// Far above what any test here takes (well under a second), far below CI's
/// patience: a deadlock aborts the run with the test's name.
const WATCHDOG: Duration = Duration::from_secs(120);
/// How long a test waits for a plugin to get somewhere before it fails.
const PATIENCE: Duration = Duration::from_secs(60);

fn delivers_every_message_in_send_order<D: Driver<u64>>() {
    let mut host = D::new();
    let records: Vec<_> = (0..3)
        .map(|_| {
            let (probe, record) = Probe::new();
            host.attach(probe, 4);
            record
        })
        .collect();
    for value in 0..1000 {
        let delivery = host.send(value).unwrap();
        assert_eq!(delivery.delivered, 3);
        assert!(delivery.gone.is_empty());
    }
    let exits = host.end();
    assert_eq!(exits.len(), records.len(), "one exit per plugin");
    let expected: Vec<u64> = (0..1000).collect();
    for (record, exit) in records.iter().zip(&exits) {
        assert_eq!(record.seen(), expected);
        assert_eq!(exit.ending, Ending::Finished);
        assert_eq!((exit.handled, exit.unhandled), (1000, 0));
    }
}

fn loses_nothing_with_capacity_one_and_eight_plugins<D: Driver<u64>>() {
    const MESSAGES: u64 = 100_000;
    let mut host = D::new();
    let counts: Vec<_> = (0..8)
        .map(|_| {
            let (sequence, count) = Sequence::new();
            host.attach(sequence, 1);
            count
        })
        .collect();
    for value in 0..MESSAGES {
        host.send(value).unwrap();
    }
    let exits = host.end();
    assert_eq!(exits.len(), 8);
    for (count, exit) in counts.iter().zip(&exits) {
        // `Sequence` panics on a message out of order, which would show here.
        assert_eq!(exit.ending, Ending::Finished, "{exit}");
        assert_eq!(exit.handled, MESSAGES);
        assert_eq!(count.load(Ordering::SeqCst), MESSAGES);
    }
}

fn detached_plugin_records_its_status_and_the_others_still_receive<D: Driver<u64>>() {
    let mut host = D::new();
    let (quitter, quit_record) = Probe::new();
    let quitter_id = host.attach(quitter.detach_at(5, 42), 16);
    let (stayer, stay_record) = Probe::new();
    host.attach(stayer, 16);
    for value in 0..=5 {
        host.send(value).unwrap();
    }
    // Wait until the quitter has gone, then the next send reports it.
    wait_until("the detached plugin to be dropped", PATIENCE, || {
        quit_record.dropped.load(Ordering::SeqCst)
    });
    let delivery = host.send(6).unwrap();
    assert_eq!(delivery.gone, vec![quitter_id]);
    assert_eq!(delivery.delivered, 1);
    let delivery = host.send(7).unwrap();
    assert!(delivery.gone.is_empty(), "a plugin is reported gone once");
    let exits = host.end();
    assert_eq!(exits[0].ending, Ending::Detached(42));
    assert_eq!(exits[0].handled, 6);
    assert_eq!(quit_record.seen(), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(exits[1].ending, Ending::Finished);
    assert_eq!(stay_record.seen(), (0..=7).collect::<Vec<_>>());
}

fn handler_panic_is_reported_with_its_message_and_the_others_keep_going<D: Driver<u64>>() {
    let mut host = D::new();
    let (panicker, panic_record) = Probe::new();
    host.attach(panicker.panic_at(3), 16);
    let (stayer, stay_record) = Probe::new();
    host.attach(stayer, 16);
    for value in 0..10 {
        host.send(value).unwrap();
    }
    let exits = host.end();
    assert_eq!(
        exits[0].ending,
        Ending::Panicked("probe panicked at message 3".to_owned())
    );
    assert_eq!(exits[0].handled, 4);
    assert_eq!(
        exits[0].handled + exits[0].unhandled,
        10,
        "every message accounted for"
    );
    assert_eq!(panic_record.seen(), vec![0, 1, 2, 3]);
    assert!(panic_record.dropped.load(Ordering::SeqCst));
    assert_eq!(exits[1].ending, Ending::Finished);
    assert_eq!(stay_record.seen(), (0..10).collect::<Vec<_>>());
}

fn drop_panic_is_reported_with_its_message<D: Driver<u64>>() {
    let mut host = D::new();
    let (panicker, _) = Probe::new();
    host.attach(panicker.panic_on_drop(), 16);
    let (stayer, stay_record) = Probe::new();
    host.attach(stayer, 16);
    host.send(1).unwrap();
    let exits = host.end();
    assert_eq!(exits[0].ending, Ending::Finished);
    assert_eq!(
        exits[0].drop_panic.as_deref(),
        Some("probe panicked while dropped")
    );
    assert_eq!(exits[1].drop_panic, None);
    assert_eq!(stay_record.seen(), vec![1]);
}

fn send_after_every_plugin_has_gone_hands_the_message_back<D: Driver<u64>>() {
    let mut host = D::new();
    let (first, first_record) = Probe::new();
    let first_id = host.attach(first.detach_at(0, 1), 4);
    let (second, second_record) = Probe::new();
    let second_id = host.attach(second.panic_at(0), 4);
    host.send(0).unwrap();
    wait_until("both plugins to be dropped", PATIENCE, || {
        first_record.dropped.load(Ordering::SeqCst) && second_record.dropped.load(Ordering::SeqCst)
    });
    let error = host.send(99).unwrap_err();
    assert_eq!(*error.message, 99);
    assert_eq!(error.gone, vec![first_id, second_id]);
    let error = host.send(100).unwrap_err();
    assert_eq!(*error.message, 100);
    assert!(
        error.gone.is_empty(),
        "reported once, at the send that found them gone"
    );
    let exits = host.end();
    assert_eq!(exits[0].ending, Ending::Detached(1));
    assert_eq!(
        exits[1].ending,
        Ending::Panicked("probe panicked at message 0".to_owned())
    );
}

fn send_with_no_plugin_attached_hands_the_message_back<D: Driver<u64>>() {
    let mut host = D::new();
    let error = host.send(7).unwrap_err();
    assert_eq!(*error.message, 7);
    assert!(host.end().is_empty());
}

fn end_lets_every_plugin_drain_its_queue<D: Driver<u64>>() {
    let mut host = D::new();
    let (gate, permits) = mpsc::channel();
    let (slow, record) = Probe::new();
    host.attach(slow.gated(permits), 64);
    for value in 0..50 {
        host.send(value).unwrap();
    }
    // Nothing is handled yet: the permits come only once `end` is called.
    let (ending, ended) = mpsc::channel();
    let opener = thread::spawn(move || {
        ended.recv().unwrap();
        drop(gate);
    });
    assert!(record.seen().is_empty(), "{:?}", record.seen());
    ending.send(()).unwrap();
    let exits = host.end();
    opener.join().unwrap();
    assert_eq!(exits[0].ending, Ending::Finished);
    assert_eq!((exits[0].handled, exits[0].unhandled), (50, 0));
    assert_eq!(record.seen(), (0..50).collect::<Vec<_>>());
}

fn dropping_the_host_without_end_stops_every_plugin<D: Driver<u64>>() {
    let mut host = D::new();
    let (gate, permits) = mpsc::channel();
    let (slow, slow_record) = Probe::new();
    host.attach(slow.gated(permits), 1000);
    // The idle plugin holds the gate: the slow plugin finishes the message in
    // progress only once the drop is under way, when the idle one (attached
    // after it, so closed after it) is dropped.
    let (idle, idle_record) = Probe::new();
    host.attach(idle.holding(gate.clone()), 1000);
    // Fewer messages than a task's budget of 128: a task plugin that used it
    // up would yield, and tokio keeps a yielded task on its worker until that
    // worker parks, which the one blocked in the slow plugin never does. The
    // idle plugin would then never see the close, and the drop never end.
    for value in 0..100 {
        host.send(value).unwrap();
    }
    gate.send(()).unwrap();
    drop(gate);
    wait_until(
        "the slow plugin to wait at its gate with message 1",
        PATIENCE,
        || slow_record.started.load(Ordering::SeqCst) == 2,
    );
    drop(host);
    // When the drop returns, both plugins are dropped and will never run
    // again: nothing else holds their records.
    assert!(slow_record.dropped.load(Ordering::SeqCst));
    assert!(idle_record.dropped.load(Ordering::SeqCst));
    assert_eq!(
        Arc::strong_count(&slow_record),
        1,
        "the slow plugin lives on"
    );
    assert_eq!(
        Arc::strong_count(&idle_record),
        1,
        "the idle plugin lives on"
    );
    assert_eq!(
        slow_record.seen(),
        [0, 1],
        "the message in progress was finished, the queued ones discarded"
    );
    assert_eq!(slow_record.calls_after_drop.load(Ordering::SeqCst), 0);
    assert_eq!(idle_record.calls_after_drop.load(Ordering::SeqCst), 0);
}

fn try_send_on_a_full_queue_delivers_to_no_plugin<D: Driver<u64>>() {
    let mut host = D::new();
    let (gate, permits) = mpsc::channel();
    let (blocked, blocked_record) = Probe::new();
    let blocked_id = host.attach(blocked.gated(permits), 1);
    let (free, free_record) = Probe::new();
    host.attach(free, 16);
    assert_eq!(
        host.try_send(0).unwrap().delivered,
        2,
        "try_send delivers when every queue has room"
    );
    // Message 1 can only be queued once the blocked plugin has taken message
    // 0 (and waits at its gate); then it fills that plugin's queue of one.
    host.send(1).unwrap();
    match host.try_send(2) {
        Err(TrySendError::Full {
            message,
            full,
            gone,
        }) => {
            assert_eq!(*message, 2);
            assert_eq!(full, vec![blocked_id]);
            assert!(gone.is_empty());
        }
        other => panic!("expected Full, got {other:?}"),
    }
    drop(gate);
    let exits = host.end();
    assert_eq!(blocked_record.seen(), vec![0, 1]);
    assert_eq!(
        free_record.seen(),
        vec![0, 1],
        "a refused try_send reached nobody"
    );
    assert_eq!(exits[0].handled, 2);
}

/// A send to a full queue waits until the plugin makes room, asleep (the
/// hosts park the sending thread, or the task whose runtime parks it): the
/// test sees the sender asleep in that send, then opens the gate, and the
/// send returns after, never before.
fn send_waits_while_a_queue_is_full<D: Driver<u64> + Send + 'static>() {
    let mut host = D::new();
    let (gate, permits) = mpsc::channel::<()>();
    let (blocked, record) = Probe::new();
    host.attach(blocked.gated(permits), 1);
    // Set before the gate opens; each send's report says whether it was.
    let opened = Arc::new(AtomicBool::new(false));
    let (sent, sent_count) = mpsc::channel();
    let (named, sender_thread) = mpsc::channel();
    let sender = thread::spawn({
        let opened = Arc::clone(&opened);
        move || {
            named.send(this_thread()).unwrap();
            for value in 0..3 {
                host.send(value).unwrap();
                sent.send((value, opened.load(Ordering::SeqCst))).unwrap();
            }
            host
        }
    });
    // Declared after `sender`, so dropped before it if this test fails:
    // the host, left in the sender's handle, then finds its plugin let go.
    let gate = gate;
    let sender_thread = sender_thread.recv().unwrap();
    // Message 0 is taken by the plugin, which waits at the gate; message 1
    // fills the queue of one; message 2 must wait.
    assert_eq!(sent_count.recv().unwrap(), (0, false));
    assert_eq!(sent_count.recv().unwrap(), (1, false));
    // From here the sender can only sleep in the send of message 2, waiting
    // for room (its reports go down a channel that never blocks).
    wait_until(
        "the sender to sleep in a send to a full queue",
        PATIENCE,
        || match sent_count.try_recv() {
            Ok((value, _)) => panic!("the send of {value} returned while the queue was full"),
            Err(mpsc::TryRecvError::Disconnected) => panic!("the sender ended early"),
            Err(mpsc::TryRecvError::Empty) => sleeping(sender_thread),
        },
    );
    assert_eq!(
        sent_count.try_recv(),
        Err(mpsc::TryRecvError::Empty),
        "send returned while the queue was full"
    );
    opened.store(true, Ordering::SeqCst);
    drop(gate);
    assert_eq!(
        sent_count.recv().unwrap(),
        (2, true),
        "the send returned once the plugin made room, not before"
    );
    let exits = sender.join().unwrap().end();
    assert_eq!(exits[0].handled, 3);
    assert_eq!(record.seen(), vec![0, 1, 2]);
}

fn a_request_is_handled_without_waiting_for_a_later_send<D: Driver<Request>>() {
    let mut host = D::new();
    host.attach(Doubler, 1024);
    for value in 0..200 {
        let (reply, answer) = mpsc::sync_channel(1);
        host.send(Request::Double(value, reply)).unwrap();
        // The host blocks on the reply before sending anything else.
        assert_eq!(answer.recv_timeout(Duration::from_secs(30)), Ok(value * 2));
    }
    let exits = host.end();
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].ending, Ending::Finished);
    assert_eq!((exits[0].handled, exits[0].unhandled), (200, 0));
}

// ---- what `attach` gives, and where a std-host plugin runs ----

/// Which host, and how `attach` was called.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Attach {
    Std,
    TokioTask,
    TokioBlocking,
}

#[test]
fn attach_gives_each_plugin_a_queue_of_1024_in_every_host() {
    let _watchdog = mpplugin_tests::watchdog::watchdog("attach's capacity".to_owned(), WATCHDOG);
    assert_eq!(mpplugin::DEFAULT_CAPACITY, 1024);
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    for kind in [Attach::Std, Attach::TokioTask, Attach::TokioBlocking] {
        let mut std_host = mpplugin::Host::<u64>::new();
        let mut tokio_host = mpplugin::tokio::Host::<u64>::new();
        // Declared after the hosts, so that a failing assertion drops the
        // gate first and the hosts' drop does not wait on it.
        let (gate, permits) = mpsc::channel();
        let (probe, record) = Probe::new();
        let probe = probe.gated(permits);
        {
            let _entered = runtime.enter();
            match kind {
                Attach::Std => std_host.attach(probe),
                Attach::TokioTask => tokio_host.attach(probe),
                Attach::TokioBlocking => tokio_host.attach_blocking(probe),
            };
        }
        let mut try_send = |value: u64| match kind {
            Attach::Std => std_host.try_send(value),
            _ => tokio_host.try_send(value),
        };
        // The plugin takes message 0 and waits at its gate: behind it, the
        // queue holds 1024 messages and refuses the next.
        try_send(0).unwrap();
        wait_until(
            "the plugin to wait at its gate with message 0",
            PATIENCE,
            || record.started.load(Ordering::SeqCst) == 1,
        );
        for value in 1..=1024 {
            if let Err(error) = try_send(value) {
                panic!("{kind:?}: message {value} refused: {error:?}");
            }
        }
        match try_send(1025) {
            Err(TrySendError::Full { full, .. }) => assert_eq!(full.len(), 1),
            other => panic!("{kind:?}: a queue of more than 1024: {other:?}"),
        }
        drop(gate);
        let exits = match kind {
            Attach::Std => std_host.end(),
            _ => runtime.block_on(tokio_host.end()),
        };
        assert_eq!(exits.len(), 1, "{kind:?}");
        assert_eq!(
            (exits[0].handled, exits[0].unhandled),
            (1025, 0),
            "{kind:?}"
        );
        assert_eq!(record.seen(), (0..=1024).collect::<Vec<_>>(), "{kind:?}");
    }
}

/// Records the thread each message is handled on.
struct Where(Arc<std::sync::Mutex<Vec<thread::ThreadId>>>);

impl mpplugin::Plugin<u64> for Where {
    fn handle_message(&mut self, _: mpplugin::Message<u64>) -> Option<u8> {
        self.0.lock().unwrap().push(thread::current().id());
        None
    }
}

#[test]
fn each_plugin_of_the_std_host_runs_on_a_thread_of_its_own() {
    let _watchdog = mpplugin_tests::watchdog::watchdog("a thread per plugin".to_owned(), WATCHDOG);
    let mut host = mpplugin::Host::<u64>::new();
    let records: Vec<_> = (0..4)
        .map(|_| {
            let record = Arc::default();
            host.attach(Where(Arc::clone(&record)));
            record
        })
        .collect();
    for value in 0..100 {
        host.send(value).unwrap();
    }
    assert_eq!(host.end().len(), 4);
    let sender = thread::current().id();
    let mut threads = Vec::new();
    for record in &records {
        let seen = record.lock().unwrap();
        assert_eq!(seen.len(), 100);
        assert!(
            seen.iter().all(|id| *id == seen[0]),
            "a plugin moved between threads"
        );
        assert_ne!(seen[0], sender, "a plugin ran on the sender's thread");
        threads.push(seen[0]);
    }
    threads.sort_by_key(|id| format!("{id:?}"));
    threads.dedup();
    assert_eq!(threads.len(), 4, "two plugins shared a thread: {threads:?}");
}

/// Each test of a host, under a watchdog.
macro_rules! watched {
    ($($name:ident::<$message:ty>),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let _watchdog = mpplugin_tests::watchdog::watchdog(
                    format!("{}::{}", module_path!(), stringify!($name)),
                    super::WATCHDOG,
                );
                super::$name::<D<$message>>();
            }
        )*
    };
}

macro_rules! host_tests {
    ($module:ident, $driver:ident $(, $blocking:literal)?) => {
        mod $module {
            use mpplugin_tests::driver::$driver;
            type D<T> = $driver<T $(, $blocking)?>;

            watched!(
                delivers_every_message_in_send_order::<u64>,
                loses_nothing_with_capacity_one_and_eight_plugins::<u64>,
                detached_plugin_records_its_status_and_the_others_still_receive::<u64>,
                handler_panic_is_reported_with_its_message_and_the_others_keep_going::<u64>,
                drop_panic_is_reported_with_its_message::<u64>,
                send_after_every_plugin_has_gone_hands_the_message_back::<u64>,
                send_with_no_plugin_attached_hands_the_message_back::<u64>,
                end_lets_every_plugin_drain_its_queue::<u64>,
                dropping_the_host_without_end_stops_every_plugin::<u64>,
                try_send_on_a_full_queue_delivers_to_no_plugin::<u64>,
                send_waits_while_a_queue_is_full::<u64>,
                a_request_is_handled_without_waiting_for_a_later_send::<super::Request>,
            );
        }
    };
}

host_tests!(std_host, Std);
host_tests!(tokio_task, Tokio, false);
host_tests!(tokio_blocking, Tokio, true);
