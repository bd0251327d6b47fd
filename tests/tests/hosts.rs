//! The hosts' guarantees, with in-process plugins, for the std host and the
//! tokio host (task and blocking execution): order, no loss, exits,
//! panics, backpressure, `try_send`, `end` and drop.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use mpplugin::{Ending, TrySendError};
use mpplugin_tests::driver::Driver;
use mpplugin_tests::probe::{Doubler, Probe, Request, Sequence};

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
    while !quit_record.dropped.load(Ordering::SeqCst) {
        thread::yield_now();
    }
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
    while !(first_record.dropped.load(Ordering::SeqCst)
        && second_record.dropped.load(Ordering::SeqCst))
    {
        thread::yield_now();
    }
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
    // Nothing is handled yet; the permits come after `end` has closed the queue.
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        drop(gate);
    });
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
    let (idle, idle_record) = Probe::new();
    host.attach(idle, 1000);
    for value in 0..500 {
        host.send(value).unwrap();
    }
    gate.send(()).unwrap();
    // The slow plugin is in (or about to start) a handler; let it finish that
    // one once the drop is under way.
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        drop(gate);
    });
    drop(host);
    // When the drop returns, both plugins are dropped and will never run again.
    assert!(slow_record.dropped.load(Ordering::SeqCst));
    assert!(idle_record.dropped.load(Ordering::SeqCst));
    let handled = slow_record.seen().len();
    assert!(
        handled < 500,
        "the queued messages were discarded, not drained ({handled} handled)"
    );
    opener.join().unwrap();
    thread::sleep(Duration::from_millis(20));
    assert_eq!(slow_record.seen().len(), handled);
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

fn send_waits_while_a_queue_is_full<D: Driver<u64> + Send + 'static>() {
    let mut host = D::new();
    let (gate, permits) = mpsc::channel::<()>();
    let (blocked, record) = Probe::new();
    host.attach(blocked.gated(permits), 1);
    let (sent, sent_count) = mpsc::channel();
    let sender = thread::spawn(move || {
        for value in 0..3 {
            host.send(value).unwrap();
            sent.send(value).unwrap();
        }
        host
    });
    // Message 0 is taken by the plugin, which waits at the gate; message 1
    // fills the queue of one; message 2 must wait.
    assert_eq!(sent_count.recv().unwrap(), 0);
    assert_eq!(sent_count.recv().unwrap(), 1);
    assert_eq!(
        sent_count.recv_timeout(Duration::from_millis(200)),
        Err(mpsc::RecvTimeoutError::Timeout),
        "send returned while the queue was full"
    );
    drop(gate);
    assert_eq!(sent_count.recv().unwrap(), 2);
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
    host.end();
}

macro_rules! host_tests {
    ($module:ident, $driver:ident $(, $blocking:literal)?) => {
        mod $module {
            use mpplugin_tests::driver::$driver;
            type D<T> = $driver<T $(, $blocking)?>;

            #[test]
            fn delivers_every_message_in_send_order() {
                super::delivers_every_message_in_send_order::<D<u64>>();
            }
            #[test]
            fn loses_nothing_with_capacity_one_and_eight_plugins() {
                super::loses_nothing_with_capacity_one_and_eight_plugins::<D<u64>>();
            }
            #[test]
            fn detached_plugin_records_its_status_and_the_others_still_receive() {
                super::detached_plugin_records_its_status_and_the_others_still_receive::<D<u64>>();
            }
            #[test]
            fn handler_panic_is_reported_with_its_message_and_the_others_keep_going() {
                super::handler_panic_is_reported_with_its_message_and_the_others_keep_going::<D<u64>>();
            }
            #[test]
            fn drop_panic_is_reported_with_its_message() {
                super::drop_panic_is_reported_with_its_message::<D<u64>>();
            }
            #[test]
            fn send_after_every_plugin_has_gone_hands_the_message_back() {
                super::send_after_every_plugin_has_gone_hands_the_message_back::<D<u64>>();
            }
            #[test]
            fn send_with_no_plugin_attached_hands_the_message_back() {
                super::send_with_no_plugin_attached_hands_the_message_back::<D<u64>>();
            }
            #[test]
            fn end_lets_every_plugin_drain_its_queue() {
                super::end_lets_every_plugin_drain_its_queue::<D<u64>>();
            }
            #[test]
            fn dropping_the_host_without_end_stops_every_plugin() {
                super::dropping_the_host_without_end_stops_every_plugin::<D<u64>>();
            }
            #[test]
            fn try_send_on_a_full_queue_delivers_to_no_plugin() {
                super::try_send_on_a_full_queue_delivers_to_no_plugin::<D<u64>>();
            }
            #[test]
            fn send_waits_while_a_queue_is_full() {
                super::send_waits_while_a_queue_is_full::<D<u64>>();
            }
            #[test]
            fn a_request_is_handled_without_waiting_for_a_later_send() {
                super::a_request_is_handled_without_waiting_for_a_later_send::<D<super::Request>>();
            }
        }
    };
}

host_tests!(std_host, Std);
host_tests!(tokio_task, Tokio, false);
host_tests!(tokio_blocking, Tokio, true);
