//! The ring between a host and one plugin: a bounded single-producer,
//! single-consumer queue of messages, and how each side sleeps and wakes.
//! This file holds the ring's `unsafe` (the slots), checked under loom by the
//! models in `queue/loom_tests.rs`; it knows nothing of plugins, which
//! `worker.rs` runs, nor of hosts.
//!
//! The host is the only producer of each queue (`send` takes `&mut self`), the
//! worker the only consumer, so a queue is a single-producer ring. A write
//! puts the message in its slot and publishes it with a plain release store
//! of the tail: no read-modify-write and no fence per plugin. Room is judged
//! from the last head the producer read, which it reads again only when the
//! queue looks full.
//!
//! Whether a consumer sleeps, or has ended, sits in a word of its own that
//! the consumer changes and the producer reads. Once per `send`, after the
//! writes to every queue, the producer issues one sequentially consistent
//! fence and reads those words (see [`Queue::settle`]); a consumer that goes
//! to sleep or ends sets its flag, issues the same fence, and reads the tail
//! again. Of two such fences one comes first, so either the consumer sees the
//! message or the producer sees the flag: no message waits for a later `send`,
//! and a message written just as its plugin ended is either counted in the
//! plugin's exit or handed back, never both and never neither. The producer
//! settles before it waits for room too, so a write never stays unsettled
//! while the host waits.
//!
//! A mark (see [`Queue::mark`]) is a word beside the ring that the producer
//! sets and the consumer takes: the host's way to say "look at the worker's
//! side slot before the next message" (a plugin replaced, see `worker.rs`).
//! The producer sets it before it writes any later message, then issues the
//! same fence as a send and wakes a sleeping consumer; a consumer on its way
//! to sleep reads it after its fence. So a mark wakes the consumer by
//! itself, and a consumer that has taken a message written after the mark
//! sees the mark when it next takes it.
//!
//! The consumer moves everything queued out in one go (a whole batch) and
//! publishes the new head once. A consumer thread that finds its queue empty
//! yields a few times before it sleeps, so that the producer fills a batch
//! instead of waking it for every message (measured: 4 to 40 times the
//! throughput on two cores).

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::task::Poll;
#[cfg(feature = "tokio")]
use std::{future::poll_fn, task::Waker};

use crate::message::{Message, take_drop_panics};
use crate::sync::atomic::{AtomicBool, AtomicUsize, fence};
use crate::sync::cell::UnsafeCell;
use crate::sync::thread::{self, Thread};
use crate::sync::{self, load_owned};

/// Who is asleep on the other side of a queue.
enum Waiter {
    Thread(Thread),
    #[cfg(feature = "tokio")]
    Task(Waker),
}

impl Waiter {
    fn wake(self) {
        match self {
            Waiter::Thread(thread) => thread.unpark(),
            #[cfg(feature = "tokio")]
            Waiter::Task(waker) => waker.wake(),
        }
    }
}

/// A waiter slot. Only touched on the way to sleep and to wake a sleeper,
/// never on a write or take that finds what it needs.
struct Sleeper(sync::Mutex<Option<Waiter>>);

impl Sleeper {
    fn slot(&self) -> sync::MutexGuard<'_, Option<Waiter>> {
        // Nothing panics while holding this lock.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, waiter: Waiter) {
        *self.slot() = Some(waiter);
    }

    fn wake(&self) {
        let waiter = self.slot().take();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

/// Keeps the producer's and the consumer's words on cache lines of their own.
#[repr(align(128))]
struct Padded<T>(T);

// The tail word, written by the producer only: the number of messages ever
// written, times `ONE`, and a flag.
/// The host sends nothing more.
const CLOSED: usize = 1;
// The head word: the number of messages ever taken, times `ONE`, and a flag.
/// The producer waits for room and must be woken by the next take.
const WAITING: usize = 1;
/// One message in a counter; the bits below are flags.
const ONE: usize = 8;
// The state word, changed by the consumer (and by the producer only to clear
// `SLEEPING` when it wakes the consumer).
/// The consumer sleeps (or is about to) and must be woken.
const SLEEPING: usize = 1;
/// The plugin has ended: it takes nothing more.
const GONE: usize = 2;
/// `last`, before the consumer has ended.
const NOT_YET: usize = usize::MAX;

/// The count in a tail or head word. Counts wrap (at 2^61 on 64-bit
/// machines); the ring's length is a power of two, so indices stay right.
fn count(word: usize) -> usize {
    word / ONE
}

/// How many messages lie between a head and a tail count.
fn distance(head: usize, tail: usize) -> usize {
    tail.wrapping_sub(head) & (usize::MAX / ONE)
}

/// What a write found.
pub(crate) enum Write {
    /// Written; [`Queue::settle`] tells whether it was delivered.
    Written,
    Full,
    Gone,
}

/// What became of a write, once settled.
pub(crate) enum Settled {
    /// Nothing was written since the last settle.
    Nothing,
    /// The plugin handles the message, or counts it in its exit.
    Delivered,
    /// The plugin ended before it could see the message, which was taken
    /// back.
    Gone,
}

/// Whether a queue can take a message now.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    Yes,
    Full,
    Gone,
}

/// Proof that the producer issued the fence that [`Queue::settle`] relies on,
/// after its writes.
pub(crate) struct Fenced(());

/// Issues the producer's fence: call after writing to every queue, then
/// settle each.
pub(crate) fn fence_writes() -> Fenced {
    fence(Ordering::SeqCst);
    Fenced(())
}

/// How many times a thread that finds its queue empty (consumer) or full
/// (producer) yields before it sleeps. None in the model check: loom runs a
/// thread that yields again only once no other thread can run, so it would
/// never see one go to sleep while the other works, the race that matters.
const YIELDS: u32 = if cfg!(all(test, loom)) { 0 } else { 8 };

/// The producer's own words: the tail, and what only it reads.
struct Producer {
    tail: AtomicUsize,
    /// The head as the producer last read it: never ahead of the real one.
    seen_head: AtomicUsize,
    /// A message was written and not settled yet.
    unsettled: AtomicBool,
}

/// The consumer's own words.
struct Consumer {
    head: AtomicUsize,
    state: AtomicUsize,
    /// The tail count the consumer saw when it ended, published once;
    /// `NOT_YET` before.
    last: AtomicUsize,
}

pub(crate) struct Queue<T> {
    producer: Padded<Producer>,
    consumer: Padded<Consumer>,
    /// Slot `n % slots.len()` holds message `n` while `head <= n < tail`.
    slots: Box<[UnsafeCell<MaybeUninit<Message<T>>>]>,
    capacity: usize,
    consumer_waiter: Sleeper,
    producer_waiter: Sleeper,
    /// Set when a host is dropped without `end`: the worker stops before the
    /// next message instead of draining the queue.
    discard: AtomicBool,
    /// Set by [`Queue::mark`], taken by [`Queue::take_mark`].
    marked: AtomicBool,
}

// SAFETY: the slots are the only part not already `Send + Sync`. A slot is
// written only by the producer while it lies outside `head..tail`, and read
// only by the consumer while it lies inside, the tail and head words telling
// each side (with release and acquire ordering) when the other is done with
// it. A message crosses threads, so `Message<T>` must be `Send`, which needs
// `T: Send + Sync`.
unsafe impl<T: Send + Sync> Send for Queue<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Queue<T> {}

impl<T> Queue<T> {
    /// A queue of `capacity` messages, its ring allocated at once; or, if
    /// the ring cannot be allocated, a message that says so (the caller
    /// panics with it: a capacity is the host's choice, and an allocation
    /// failure must not abort the process).
    ///
    /// # Panics
    /// If `capacity` is 0 or above 2^60.
    pub(crate) fn new(capacity: usize) -> Result<Self, String> {
        assert!(capacity > 0, "a plugin's queue capacity must be at least 1");
        let length = capacity
            .checked_next_power_of_two()
            .filter(|length| *length <= usize::MAX / ONE)
            .expect("a plugin's queue capacity must be at most 2^60");
        let mut slots = Vec::new();
        if let Err(error) = slots.try_reserve_exact(length) {
            let bytes = length.saturating_mul(size_of::<UnsafeCell<MaybeUninit<Message<T>>>>());
            return Err(format!(
                "mpplugin: cannot allocate a queue of {capacity} messages ({bytes} bytes): {error}; attach it with a smaller capacity"
            ));
        }
        slots.extend((0..length).map(|_| UnsafeCell::new(MaybeUninit::uninit())));
        Ok(Self {
            producer: Padded(Producer {
                tail: AtomicUsize::new(0),
                seen_head: AtomicUsize::new(0),
                unsettled: AtomicBool::new(false),
            }),
            consumer: Padded(Consumer {
                head: AtomicUsize::new(0),
                state: AtomicUsize::new(0),
                last: AtomicUsize::new(NOT_YET),
            }),
            slots: slots.into_boxed_slice(),
            capacity,
            consumer_waiter: Sleeper(sync::Mutex::new(None)),
            producer_waiter: Sleeper(sync::Mutex::new(None)),
            discard: AtomicBool::new(false),
            marked: AtomicBool::new(false),
        })
    }

    fn slot(&self, count: usize) -> &UnsafeCell<MaybeUninit<Message<T>>> {
        &self.slots[count & (self.slots.len() - 1)]
    }

    /// Moves message `count` out of its slot: a mutable access, so that loom
    /// reports two takes of one message as a race.
    ///
    /// # Safety
    /// The slot holds a message, and nothing reads the slot again before the
    /// producer writes it anew.
    unsafe fn take(&self, count: usize) -> Message<T> {
        // SAFETY: the caller's.
        self.slot(count)
            .with_mut(|slot| unsafe { (*slot).assume_init_read() })
    }

    fn tail(&self) -> &AtomicUsize {
        &self.producer.0.tail
    }

    fn head(&self) -> &AtomicUsize {
        &self.consumer.0.head
    }

    fn state(&self) -> &AtomicUsize {
        &self.consumer.0.state
    }

    /// Whether message `pushed` fits, reading the head again only if the
    /// one last seen says it does not. Producer only.
    fn fits(&self, pushed: usize) -> bool {
        let seen = &self.producer.0.seen_head;
        if distance(seen.load(Ordering::Relaxed), pushed) < self.capacity {
            return true;
        }
        let head = count(self.head().load(Ordering::Acquire));
        seen.store(head, Ordering::Relaxed);
        distance(head, pushed) < self.capacity
    }

    /// Writes a clone of the message if there is room, without waiting.
    /// Producer only; settle (after [`fence_writes`]) before the next write to
    /// this queue.
    pub(crate) fn try_write(&self, message: &Message<T>) -> Write {
        debug_assert!(!self.producer.0.unsettled.load(Ordering::Relaxed));
        // A stale answer here is caught when the write is settled.
        if self.state().load(Ordering::Relaxed) & GONE != 0 {
            return Write::Gone;
        }
        // Only the producer writes the tail.
        let tail = self.tail().load(Ordering::Relaxed);
        let pushed = count(tail);
        if !self.fits(pushed) {
            return Write::Full;
        }
        // SAFETY: fewer than `capacity <= slots.len()` messages lie between
        // the head last seen (never ahead of the real one) and `pushed`, so
        // slot `pushed` lies outside `head..tail`: the consumer has finished
        // with it (the acquire load that read that head) and reads it only
        // after the store below publishes it (release); only this producer
        // writes slots.
        self.slot(pushed)
            .with_mut(|slot| unsafe { (*slot).write(message.clone()) });
        self.tail().store(tail.wrapping_add(ONE), Ordering::Release);
        self.producer.0.unsettled.store(true, Ordering::Relaxed);
        Write::Written
    }

    /// Finishes the last write: wakes the consumer if it sleeps, and, if the
    /// plugin ended meanwhile, finds out whether the plugin counted the
    /// message (delivered) or not (handed back). Producer only.
    pub(crate) fn settle(&self, _: &Fenced) -> Settled {
        // A load and a store, not a swap: a swap is a locked instruction on
        // x86, and only this producer touches the flag.
        let unsettled = &self.producer.0.unsettled;
        if !unsettled.load(Ordering::Relaxed) {
            return Settled::Nothing;
        }
        unsettled.store(false, Ordering::Relaxed);
        // After the producer's fence: sees `SLEEPING` or `GONE` set by a
        // consumer that did not see the write (see the module's docs).
        let state = self.state().load(Ordering::Acquire);
        if state & GONE != 0 {
            return self.settle_gone();
        }
        if state & SLEEPING != 0 {
            self.wake_consumer();
        }
        Settled::Delivered
    }

    #[cold]
    fn settle_gone(&self) -> Settled {
        // `finish` publishes `last` right after `GONE`, with no plugin code
        // between: this waits for a few instructions of the consumer.
        let last = loop {
            match self.consumer.0.last.load(Ordering::Acquire) {
                NOT_YET => thread::yield_now(),
                last => break last,
            }
        };
        let tail = self.tail().load(Ordering::Relaxed);
        let written = count(tail).wrapping_sub(1);
        if distance(written, last) > 0 {
            // The consumer saw it: handled, or counted as unhandled.
            return Settled::Delivered;
        }
        // SAFETY: message `written` was written by this producer, and the
        // consumer, gone, read no slot at or past `last`. Taking it back and
        // lowering the tail leaves `head..tail` holding exactly the messages
        // still in the ring.
        let message = unsafe { self.take(written) };
        self.tail().store(tail.wrapping_sub(ONE), Ordering::Relaxed);
        // Not the last reference: the host holds the message it sends.
        drop(message);
        Settled::Gone
    }

    fn wake_consumer(&self) {
        if self.state().fetch_and(!SLEEPING, Ordering::AcqRel) & SLEEPING != 0 {
            self.consumer_waiter.wake();
        }
    }

    /// Producer only.
    pub(crate) fn room(&self) -> Room {
        if self.state().load(Ordering::Acquire) & GONE != 0 {
            Room::Gone
        } else if self.fits(count(self.tail().load(Ordering::Relaxed))) {
            Room::Yes
        } else {
            Room::Full
        }
    }

    /// After a write found the queue full: registers the producer and
    /// announces that it waits. `false` if there is room (or the plugin has
    /// gone) after all: write again.
    fn wait_for_room(&self, waiter: Waiter) -> bool {
        self.producer_waiter.register(waiter);
        // A `finish` that set `GONE` after this load wakes the waiter just
        // registered (both sides go through the sleeper's lock).
        if self.state().load(Ordering::Acquire) & GONE != 0 {
            return false;
        }
        let head = self.head().load(Ordering::Acquire);
        let tail = count(self.tail().load(Ordering::Relaxed));
        if distance(count(head), tail) < self.capacity {
            return false;
        }
        // Fails if the consumer took messages meanwhile: then there is room.
        self.head()
            .compare_exchange(head, head | WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// One step of waiting for room, parking the calling thread after a few
    /// yields (`yields` counts them). Producer only, with nothing unsettled.
    pub(crate) fn wait_blocking(&self, yields: &mut u32) {
        if *yields < YIELDS {
            *yields += 1;
            thread::yield_now();
        } else if self.wait_for_room(Waiter::Thread(thread::current())) {
            thread::park();
        }
    }

    /// Waits asynchronously until the queue has room or its plugin is gone
    /// (or spuriously). Producer only, with nothing unsettled.
    #[cfg(feature = "tokio")]
    pub(crate) async fn wait_async(&self) {
        poll_fn(|cx| {
            if self.room() != Room::Full || !self.wait_for_room(Waiter::Task(cx.waker().clone())) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }

    /// How many messages were ever written, counted as the consumer counts
    /// what it takes (wrapping with [`position`]). Producer only.
    pub(crate) fn written(&self) -> u64 {
        count(self.tail().load(Ordering::Relaxed)) as u64
    }

    /// The capacity the queue was made with.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Tells the consumer to look at what the host put beside the queue,
    /// before any message written after this call: wakes it if it sleeps,
    /// even if no message follows. Producer only, with nothing unsettled.
    pub(crate) fn mark(&self) {
        self.marked.store(true, Ordering::Release);
        // As a send's settle: either the consumer, on its way to sleep, sees
        // the mark after its fence, or this sees `SLEEPING` and wakes it.
        fence(Ordering::SeqCst);
        if self.state().load(Ordering::Acquire) & SLEEPING != 0 {
            self.wake_consumer();
        }
    }

    /// Whether the producer marked the queue since the last call; clears
    /// the mark. Consumer only.
    pub(crate) fn take_mark(&self) -> bool {
        self.marked.load(Ordering::Acquire) && self.marked.swap(false, Ordering::AcqRel)
    }

    /// The host sends nothing more; the worker drains what is queued.
    /// Producer only, with nothing unsettled.
    pub(crate) fn close(&self) {
        let tail = self.tail().load(Ordering::Relaxed);
        self.tail().store(tail | CLOSED, Ordering::Release);
        fence(Ordering::SeqCst);
        if self.state().load(Ordering::Acquire) & SLEEPING != 0 {
            self.wake_consumer();
        }
    }

    /// The host sends nothing more and the worker stops before its next
    /// message.
    pub(crate) fn close_and_discard(&self) {
        self.discard.store(true, Ordering::Release);
        self.close();
    }

    pub(crate) fn discarding(&self) -> bool {
        self.discard.load(Ordering::Acquire)
    }

    /// Moves everything queued into `batch`, or, with nothing queued,
    /// registers `waiter` and sleeps. `Ready(true)` with nothing moved when
    /// the queue is marked ([`Queue::take_mark`] says so); `Ready(false)`
    /// when the queue is closed and drained. Consumer only.
    fn poll_pop(
        &self,
        batch: &mut VecDeque<Message<T>>,
        waiter: Option<impl FnOnce() -> Waiter>,
    ) -> Poll<bool> {
        if self.discarding() {
            return Poll::Ready(false);
        }
        // Only the consumer changes the head's count.
        let taken = count(self.head().load(Ordering::Relaxed));
        let mut tail = self.tail().load(Ordering::Acquire);
        let mut waiter = waiter;
        loop {
            let queued = distance(taken, count(tail));
            if queued > 0 {
                batch.reserve(queued);
                for n in 0..queued {
                    // SAFETY: slots `taken..tail` were written and published
                    // by the producer (acquire of tail) and are read once, here.
                    batch.push_back(unsafe { self.take(taken.wrapping_add(n)) });
                }
                let before = self.head().fetch_add(queued * ONE, Ordering::AcqRel);
                if before & WAITING != 0 {
                    self.head().fetch_and(!WAITING, Ordering::Relaxed);
                    self.producer_waiter.wake();
                }
                if self.state().load(Ordering::Relaxed) & SLEEPING != 0 {
                    // Awake after all: spare the producer a wake-up.
                    self.state().fetch_and(!SLEEPING, Ordering::Relaxed);
                }
                return Poll::Ready(true);
            }
            if self.marked.load(Ordering::Acquire) {
                if self.state().load(Ordering::Relaxed) & SLEEPING != 0 {
                    self.state().fetch_and(!SLEEPING, Ordering::Relaxed);
                }
                return Poll::Ready(true);
            }
            if tail & CLOSED != 0 {
                return Poll::Ready(false);
            }
            let Some(make_waiter) = waiter.take() else {
                return Poll::Pending;
            };
            self.consumer_waiter.register(make_waiter());
            self.state().fetch_or(SLEEPING, Ordering::AcqRel);
            // Pairs with the producer's fence (see the module's docs): either
            // this load sees the producer's write or close, or the producer
            // sees `SLEEPING` and wakes the waiter just registered.
            fence(Ordering::SeqCst);
            let now = self.tail().load(Ordering::Acquire);
            if now == tail && !self.marked.load(Ordering::Acquire) {
                return Poll::Pending;
            }
            tail = now;
        }
    }

    pub(crate) fn pop_blocking(&self, batch: &mut VecDeque<Message<T>>) -> bool {
        for _ in 0..YIELDS {
            if let Poll::Ready(more) = self.poll_pop(batch, None::<fn() -> Waiter>) {
                return more;
            }
            thread::yield_now();
        }
        loop {
            let waiter = || Waiter::Thread(thread::current());
            if let Poll::Ready(more) = self.poll_pop(batch, Some(waiter)) {
                return more;
            }
            thread::park();
        }
    }

    #[cfg(feature = "tokio")]
    pub(crate) async fn pop_async(&self, batch: &mut VecDeque<Message<T>>) -> bool {
        poll_fn(|cx| self.poll_pop(batch, Some(|| Waiter::Task(cx.waker().clone())))).await
    }

    /// The plugin has ended: refuse further writes, wake a waiting producer,
    /// and count (and drop) what was queued but will never be handled.
    /// Consumer only.
    pub(crate) fn finish(&self) -> Leftovers {
        self.state().fetch_or(GONE, Ordering::AcqRel);
        // Pairs with the producer's fence: a write this load misses is seen
        // as gone when the producer settles it, and handed back.
        fence(Ordering::SeqCst);
        let tail = count(self.tail().load(Ordering::Acquire));
        self.consumer.0.last.store(tail, Ordering::Release);
        self.producer_waiter.wake();
        let taken = count(self.head().load(Ordering::Relaxed));
        let left = distance(taken, tail);
        // Move every message out of the ring and publish the new head before
        // dropping any: a message whose `Drop` panics must not leave slots
        // that `Queue::drop` would drop a second time.
        let mut unhandled = Vec::with_capacity(left);
        for n in 0..left {
            // SAFETY: slots `taken..tail` hold published messages that
            // nobody else reads: the producer takes back only a message at
            // or past `last`, and each is read once, here.
            unhandled.push(unsafe { self.take(taken.wrapping_add(n)) });
        }
        self.head().fetch_add(left * ONE, Ordering::AcqRel);
        Leftovers {
            unhandled: left as u64,
            drop_panics: drop_each_contained(unhandled),
        }
    }
}

/// A count of messages as [`Queue::written`] gives it: counts wrap at
/// 2^61 on 64-bit machines.
pub(crate) fn position(taken: u64) -> u64 {
    taken & (usize::MAX / ONE) as u64
}

/// What [`Queue::finish`] found left in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Leftovers {
    /// Messages queued that the plugin will never handle.
    pub(crate) unhandled: u64,
    /// How many of them panicked when dropped.
    pub(crate) drop_panics: u64,
}

/// Drops each message, and returns how many of their values panicked in
/// `Drop` ([`Message`]'s drop contains the panic: the last reference to a
/// message drops it here, in host code, and a message type whose `Drop`
/// panics must not cost the plugin its exit, nor its neighbours their drop).
/// Counts on this thread not collected before are discarded.
pub(crate) fn drop_each_contained<M>(messages: impl IntoIterator<Item = M>) -> u64 {
    take_drop_panics();
    messages.into_iter().for_each(drop);
    take_drop_panics()
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        // A worker cancelled before `finish` (its runtime shut down) leaves
        // messages in the ring.
        // Each is dropped on its own and contained: nobody is left to count
        // the panics, but none may unwind out of here and leak the rest.
        let taken = count(load_owned(&mut self.consumer.0.head));
        let left = distance(taken, count(load_owned(&mut self.producer.0.tail)));
        // SAFETY: slots `taken..tail` hold messages nobody took, each read
        // once here, and `&mut self` means nobody else can.
        let messages = (0..left).map(|n| unsafe { self.take(taken.wrapping_add(n)) });
        drop_each_contained(messages);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::thread;

    use super::*;

    /// A consumer that ended after seeing `last` messages: what `finish`
    /// leaves behind, set up by hand to place the end exactly.
    fn end_consumer(queue: &Queue<u64>, last: usize) {
        queue.state().fetch_or(GONE, Ordering::SeqCst);
        queue.consumer.0.last.store(last, Ordering::SeqCst);
        queue.head().store(last * ONE, Ordering::SeqCst);
    }

    #[test]
    fn a_write_the_ended_consumer_did_not_see_is_handed_back() {
        let queue = Queue::new(4).unwrap();
        let message = Message::new(7);
        assert!(matches!(queue.try_write(&message), Write::Written));
        assert_eq!(Arc::strong_count(message.as_arc()), 2);
        // The consumer ended between the producer's check and its write.
        end_consumer(&queue, 0);
        assert!(matches!(queue.settle(&fence_writes()), Settled::Gone));
        assert_eq!(Arc::strong_count(message.as_arc()), 1, "dropped once");
        assert_eq!(count(queue.tail().load(Ordering::SeqCst)), 0);
        drop(queue);
        assert_eq!(Arc::strong_count(message.as_arc()), 1, "and not again");
    }

    #[test]
    fn a_write_the_ended_consumer_saw_is_delivered() {
        let queue = Queue::new(4).unwrap();
        let message = Message::new(7);
        assert!(matches!(queue.try_write(&message), Write::Written));
        // The consumer saw it and counted it as unhandled; `finish` dropped it.
        end_consumer(&queue, 1);
        // SAFETY: message 0 is in its slot; the consumer's `finish` takes it.
        drop(unsafe { queue.take(0) });
        assert!(matches!(queue.settle(&fence_writes()), Settled::Delivered));
        assert_eq!(count(queue.tail().load(Ordering::SeqCst)), 1);
        drop(queue);
        assert_eq!(Arc::strong_count(message.as_arc()), 1);
    }

    #[test]
    fn nothing_to_settle_after_a_refused_write() {
        let queue = Queue::new(1).unwrap();
        let message = Message::new(1);
        assert!(matches!(queue.try_write(&message), Write::Written));
        assert!(matches!(queue.settle(&fence_writes()), Settled::Delivered));
        assert!(matches!(queue.try_write(&message), Write::Full));
        assert!(matches!(queue.settle(&fence_writes()), Settled::Nothing));
        end_consumer(&queue, 1);
        // SAFETY: as above, the ended consumer's share.
        drop(unsafe { queue.take(0) });
        assert!(matches!(queue.try_write(&message), Write::Gone));
        assert!(matches!(queue.room(), Room::Gone));
    }

    /// A producer writing as fast as it can and a consumer that ends at a
    /// varying point: every message written is handled, counted unhandled,
    /// or handed back, exactly once.
    #[test]
    fn a_consumer_ending_under_a_running_producer_loses_nothing() {
        let rounds = if cfg!(miri) { 4 } else { 400 };
        for round in 0..rounds {
            let queue = Arc::new(Queue::<u64>::new(8).unwrap());
            let message = Message::new(round);
            let consumer = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || {
                    let mut handled = 0;
                    let mut batch = VecDeque::new();
                    while handled < round % 50 && queue.pop_blocking(&mut batch) {
                        handled += batch.drain(..).count() as u64;
                    }
                    // End at a varying point of the producer's loop.
                    (0..round * 37 % 1000).for_each(|_| std::hint::spin_loop());
                    (handled, queue.finish().unhandled)
                })
            };
            let (mut delivered, mut handed_back) = (0, 0);
            loop {
                match queue.try_write(&message) {
                    Write::Written => {
                        // As if writing to other plugins' queues first.
                        (0..round % 8 * 32).for_each(|_| std::hint::spin_loop());
                        match queue.settle(&fence_writes()) {
                            Settled::Delivered => delivered += 1,
                            Settled::Gone => handed_back += 1,
                            Settled::Nothing => unreachable!("a write was made"),
                        }
                    }
                    Write::Full => thread::yield_now(),
                    Write::Gone => break,
                }
            }
            let (handled, unhandled) = consumer.join().unwrap();
            assert_eq!(delivered, handled + unhandled, "round {round}");
            assert!(
                handed_back <= 1,
                "round {round}: one write in flight at most"
            );
            drop(queue);
            assert_eq!(Arc::strong_count(message.as_arc()), 1, "round {round}");
        }
    }
}

/// The model checks of the protocol above (`--cfg loom`, see `.ci/run`).
#[cfg(all(test, loom))]
mod loom_tests;
