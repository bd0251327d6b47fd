//! Model checks of the queue's protocol: loom runs each model under every
//! interleaving (up to `LOOM_MAX_PREEMPTIONS` preemptions) and every value
//! its memory model lets a load return, checking the slots for data races
//! and the threads for deadlocks (a sleeper nobody wakes). `.ci/run` runs
//! them: `RUSTFLAGS="--cfg loom" cargo test -p mpplugin --lib --release loom`.
//! Test code only: it drives the queue through its crate-visible interface
//! and the words it shares with `queue.rs`, and changes nothing there.

use std::sync::Arc as StdArc;
use std::sync::atomic::AtomicUsize as Tally;

use loom::sync::Arc;

use super::*;

fn messages(n: usize) -> Vec<Message<usize>> {
    (0..n).map(Message::new).collect()
}

/// Whether `received` is `sent`, in order: the same `Arc`s, not equal
/// values.
fn same(received: &[Message<usize>], sent: &[Message<usize>]) -> bool {
    received.len() == sent.len()
        && (received.iter().zip(sent)).all(|(a, b)| StdArc::ptr_eq(a.as_arc(), b.as_arc()))
}

/// Every message is referenced once, by `sent`: none left in a slot,
/// none dropped twice.
fn all_dropped(sent: &[Message<usize>]) -> bool {
    sent.iter()
        .all(|message| StdArc::strong_count(message.as_arc()) == 1)
}

/// Runs the producer and the consumer on threads of their own, the
/// model's thread only joining them. A wake-up may unpark a thread that
/// no longer waits (its waiter stays registered after a wait that found
/// room or a message: std keeps the token for the next `park`), and loom
/// aborts a model that unparks a thread blocked in `join` ("assertion
/// failed: state.notified", loom issue 249): so no joining thread is
/// ever a waiter.
fn run<P: 'static, C: 'static>(
    queue: Queue<usize>,
    produce: impl FnOnce(&Queue<usize>) -> P + 'static,
    consume: impl FnOnce(&Queue<usize>) -> C + 'static,
) -> (P, C) {
    let queue = Arc::new(queue);
    let consumer = {
        let queue = Arc::clone(&queue);
        loom::thread::spawn(move || consume(&queue))
    };
    let producer = {
        let queue = Arc::clone(&queue);
        loom::thread::spawn(move || produce(&queue))
    };
    (producer.join().unwrap(), consumer.join().unwrap())
}

/// Writes `message` as `Host::send` does: on a full queue, waits until
/// there is room or the plugin is gone.
fn write(queue: &Queue<usize>, message: &Message<usize>) -> Write {
    let mut yields = 0;
    loop {
        match queue.try_write(message) {
            Write::Full => queue.wait_blocking(&mut yields),
            written_or_gone => return written_or_gone,
        }
    }
}

/// Sends every message, the plugin running throughout, then closes.
fn send_all(queue: &Queue<usize>, sent: &[Message<usize>]) {
    for message in sent {
        assert!(matches!(write(queue, message), Write::Written));
        assert!(matches!(queue.settle(&fence_writes()), Settled::Delivered));
    }
    queue.close();
}

/// Takes messages until the queue is closed and drained, then finishes,
/// as `Worker::run_blocking` does.
fn drain(queue: &Queue<usize>) -> Vec<Message<usize>> {
    let mut received = Vec::new();
    let mut batch = VecDeque::new();
    while queue.pop_blocking(&mut batch) {
        received.extend(batch.drain(..));
    }
    assert_eq!(queue.finish().unhandled, 0, "a closed queue is drained");
    received
}

/// How the messages of a model went, added up over all interleavings.
struct Ways {
    handed_back: Tally,
    refused: Tally,
    unhandled: Tally,
}

impl Ways {
    const fn new() -> Self {
        Self {
            handed_back: Tally::new(0),
            refused: Tally::new(0),
            unhandled: Tally::new(0),
        }
    }

    /// Every way was taken in some interleaving: the model reaches the
    /// hand-back in `settle_gone`, the refusal of a write, and a
    /// message counted in the exit.
    fn assert_all_taken(&self) {
        let taken = |tally: &Tally| tally.load(Ordering::Relaxed) > 0;
        assert!(
            taken(&self.handed_back),
            "no interleaving took a write back"
        );
        assert!(taken(&self.refused), "no interleaving refused a write");
        assert!(
            taken(&self.unhandled),
            "no interleaving left a message unhandled"
        );
    }
}

/// The producer sends `sent` messages one after another, as the host
/// does, and stops at the first it finds the plugin gone for; the
/// consumer takes one batch (waiting for it if `wait`, else taking what
/// is there, maybe nothing), handles its first message and ends, as a
/// plugin that detaches. Each message is handled, counted unhandled,
/// handed back, or refused, exactly once.
fn consumer_ends_mid_stream(capacity: usize, sent: usize, wait: bool, ways: &'static Ways) {
    loom::model(move || {
        let sent = messages(sent);
        let ours = sent.clone();
        let ((delivered, handed_back, refused), (handled, unhandled)) = run(
            Queue::new(capacity).unwrap(),
            move |queue| {
                let (mut delivered, mut handed_back, mut refused) = (0, 0, 0);
                for message in &ours {
                    match write(queue, message) {
                        Write::Written => match queue.settle(&fence_writes()) {
                            Settled::Delivered => delivered += 1,
                            Settled::Gone => {
                                handed_back += 1;
                                break;
                            }
                            Settled::Nothing => unreachable!("a write was made"),
                        },
                        Write::Gone => {
                            refused += 1;
                            break;
                        }
                        Write::Full => unreachable!("`write` waits for room"),
                    }
                }
                (delivered, handed_back, refused)
            },
            move |queue| {
                let mut batch = VecDeque::new();
                if wait {
                    assert!(queue.pop_blocking(&mut batch), "not closed");
                } else {
                    let _ = queue.poll_pop(&mut batch, None::<fn() -> Waiter>);
                }
                let handled = Vec::from_iter(batch.pop_front());
                // As `Worker::exit`.
                let unhandled = batch.len() + queue.finish().unhandled as usize;
                (handled, unhandled)
            },
        );
        assert!(
            same(&handled, &sent[..handled.len()]),
            "the first message, handled"
        );
        assert_eq!(
            delivered,
            handled.len() + unhandled,
            "delivered: handled or counted unhandled"
        );
        drop(handled);
        assert!(all_dropped(&sent), "each taken back or dropped, once");
        ways.handed_back.fetch_add(handed_back, Ordering::Relaxed);
        ways.refused.fetch_add(refused, Ordering::Relaxed);
        ways.unhandled.fetch_add(unhandled, Ordering::Relaxed);
    });
}

#[test]
fn loom_consumer_ending_mid_stream_loses_and_duplicates_nothing() {
    static WAYS: Ways = Ways::new();
    consumer_ends_mid_stream(2, 3, false, &WAYS);
    WAYS.assert_all_taken();
}

#[test]
fn loom_consumer_ending_after_a_sleep_loses_and_duplicates_nothing() {
    static WAYS: Ways = Ways::new();
    consumer_ends_mid_stream(2, 3, true, &WAYS);
    WAYS.assert_all_taken();
}

/// Every message arrived, in order, and none is held anywhere else.
fn assert_all_arrived(received: Vec<Message<usize>>, sent: &[Message<usize>]) {
    assert!(same(&received, sent), "every message, in order");
    drop(received);
    assert!(all_dropped(sent));
}

/// The model of a plugin running throughout: `count` messages through a
/// queue of `capacity`, then the close.
fn send_all_and_drain(capacity: usize, count: usize) {
    loom::model(move || {
        let sent = messages(count);
        let ours = sent.clone();
        let ((), received) = run(
            Queue::new(capacity).unwrap(),
            move |queue| send_all(queue, &ours),
            drain,
        );
        assert_all_arrived(received, &sent);
    });
}

/// A consumer that goes to sleep is always woken, by a write or by the
/// close: loom reports a deadlock if it stays parked.
#[test]
fn loom_sleeping_consumer_is_woken_for_every_message_and_the_close() {
    send_all_and_drain(2, 2);
}

/// Each message wakes the consumer by itself, not by a later send or the
/// close: the producer waits for the consumer to acknowledge a message
/// before it sends the next, so a wake-up lost on the way to sleep leaves
/// both threads blocked, which loom reports as a deadlock.
#[test]
fn loom_each_message_wakes_the_consumer_without_a_later_send() {
    loom::model(|| {
        let sent = messages(2);
        let ours = sent.clone();
        let (ack, acked) = loom::sync::mpsc::channel();
        let ((), received) = run(
            Queue::new(2).unwrap(),
            move |queue| {
                for (n, message) in ours.iter().enumerate() {
                    assert!(matches!(queue.try_write(message), Write::Written));
                    assert!(matches!(queue.settle(&fence_writes()), Settled::Delivered));
                    assert_eq!(acked.recv().unwrap(), n + 1, "one message at a time");
                }
                queue.close();
            },
            move |queue| {
                let mut received = Vec::new();
                let mut batch = VecDeque::new();
                while queue.pop_blocking(&mut batch) {
                    received.extend(batch.drain(..));
                    ack.send(received.len()).unwrap();
                }
                assert_eq!(queue.finish().unhandled, 0, "a closed queue is drained");
                received
            },
        );
        assert_all_arrived(received, &sent);
    });
}

/// A producer waiting for room is always woken when the consumer takes
/// a message (loom reports a deadlock if not), and no message is
/// written over or lost.
#[test]
fn loom_full_queue_makes_the_producer_wait_and_loses_nothing() {
    send_all_and_drain(1, 3);
}

/// A mark wakes the consumer by itself, with no message after it: the
/// producer waits for the consumer to see the mark before it closes, so a
/// wake-up lost on the way to sleep leaves both threads blocked, which loom
/// reports as a deadlock.
#[test]
fn loom_a_mark_wakes_the_consumer_without_a_message() {
    loom::model(|| {
        let (ack, acked) = loom::sync::mpsc::channel();
        run(
            Queue::<usize>::new(1).unwrap(),
            move |queue| {
                queue.mark();
                acked.recv().unwrap();
                queue.close();
            },
            move |queue| {
                let mut batch = VecDeque::new();
                let mut marks = 0;
                while queue.pop_blocking(&mut batch) {
                    assert!(batch.is_empty(), "no message was sent");
                    if queue.take_mark() {
                        marks += 1;
                        ack.send(()).unwrap();
                    }
                }
                assert_eq!(marks, 1, "one mark, taken once");
                queue.finish();
            },
        );
    });
}

/// A consumer that has taken a message written after a mark sees the mark
/// when it next looks (as the worker does after every take): a swap placed
/// before that message is never missed.
#[test]
fn loom_a_mark_is_seen_no_later_than_the_messages_written_after_it() {
    loom::model(|| {
        let sent = messages(2);
        let ours = sent.clone();
        let (_, received) = run(
            Queue::new(2).unwrap(),
            move |queue| {
                assert!(matches!(queue.try_write(&ours[0]), Write::Written));
                assert!(matches!(queue.settle(&fence_writes()), Settled::Delivered));
                queue.mark();
                assert!(matches!(queue.try_write(&ours[1]), Write::Written));
                assert!(matches!(queue.settle(&fence_writes()), Settled::Delivered));
                queue.close();
            },
            move |queue| {
                let mut received = Vec::new();
                let mut batch = VecDeque::new();
                let mut marked_at = None;
                while queue.pop_blocking(&mut batch) {
                    received.extend(batch.drain(..));
                    if queue.take_mark() {
                        assert!(marked_at.is_none(), "one mark, taken once");
                        marked_at = Some(received.len());
                    }
                    if received.len() == 2 {
                        assert!(marked_at.is_some(), "a message after the mark came first");
                    }
                }
                assert!(marked_at.is_some(), "the mark was never seen");
                assert_eq!(queue.finish().unhandled, 0, "a closed queue is drained");
                received
            },
        );
        assert_all_arrived(received, &sent);
    });
}
