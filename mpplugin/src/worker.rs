//! The engine both hosts share: one bounded queue and one worker per plugin.
//!
//! The host is the only producer of each queue (`send` takes `&mut self`), the
//! worker the only consumer, so a queue is a single-producer ring. A push
//! writes its slot and bumps the tail with one atomic add, which also reads
//! whether the consumer sleeps: a message costs the producer one atomic
//! operation, and wakes the consumer only when it sleeps. The consumer moves
//! everything queued out in one go (a whole batch) and publishes the new head
//! once. A consumer thread that finds its queue empty yields a few times
//! before it sleeps, so that the producer fills a batch instead of waking it
//! for every message (measured: 4 to 40 times the throughput on two cores).
//! Every push wakes a sleeping consumer at once, so no message waits for a
//! later `send`.
//!
//! The tail and the flags that must change together with it (closed, gone,
//! consumer asleep) share one word, so each transition is a single atomic
//! operation on it and none can slip between a check and a push: a message is
//! pushed before the plugin is gone, and counted as unhandled if it is not
//! handled, or it is handed back to the host, never both and never neither.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::thread::{self, Thread};
#[cfg(feature = "tokio")]
use std::{future::poll_fn, task::Waker};

use crate::host::{Ending, Exit, PluginId};
use crate::plugin::{Handled, panic_message};
use crate::{Message, Plugin};

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
/// never on a push or pop that finds what it needs.
struct Sleeper(Mutex<Option<Waiter>>);

impl Sleeper {
    fn slot(&self) -> MutexGuard<'_, Option<Waiter>> {
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

// The tail word: the number of messages ever pushed, times `ONE`, and flags.
/// The host sends nothing more.
const CLOSED: usize = 1;
/// The plugin has ended: it takes nothing more.
const GONE: usize = 2;
/// The consumer sleeps (or is about to) and must be woken by the next push.
const SLEEPING: usize = 4;
// The head word: the number of messages ever taken, times `ONE`, and a flag.
/// The producer waits for room and must be woken by the next take.
const WAITING: usize = 1;
/// One message in a counter; the bits below are flags.
const ONE: usize = 8;

/// The count in a tail or head word. Counts wrap (at 2^61 on 64-bit
/// machines); the ring's length is a power of two, so indices stay right.
fn count(word: usize) -> usize {
    word / ONE
}

/// How many messages lie between a head and a tail count.
fn distance(head: usize, tail: usize) -> usize {
    tail.wrapping_sub(head) & (usize::MAX / ONE)
}

/// What a push found.
pub(crate) enum Push<T> {
    Pushed,
    Full(Message<T>),
    Gone(Message<T>),
}

/// Whether a queue can take a message now.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    Yes,
    Full,
    Gone,
}

/// How many times a consumer thread that finds its queue empty yields before
/// it sleeps.
const YIELDS: u32 = 8;

pub(crate) struct Queue<T> {
    /// Written by the producer: pushed count and flags.
    tail: Padded<AtomicUsize>,
    /// Written by the consumer: taken count and `WAITING`.
    head: Padded<AtomicUsize>,
    /// Slot `n % slots.len()` holds message `n` while `head <= n < tail`.
    slots: Box<[UnsafeCell<MaybeUninit<Message<T>>>]>,
    capacity: usize,
    consumer: Sleeper,
    producer: Sleeper,
    /// Set when a host is dropped without `end`: the worker stops before the
    /// next message instead of draining the queue.
    discard: AtomicBool,
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
    fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "a plugin's queue capacity must be at least 1");
        let length = capacity
            .checked_next_power_of_two()
            .filter(|length| *length <= usize::MAX / ONE)
            .expect("a plugin's queue capacity must be at most 2^60");
        Self {
            tail: Padded(AtomicUsize::new(0)),
            head: Padded(AtomicUsize::new(0)),
            slots: (0..length)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
            capacity,
            consumer: Sleeper(Mutex::new(None)),
            producer: Sleeper(Mutex::new(None)),
            discard: AtomicBool::new(false),
        }
    }

    fn slot(&self, count: usize) -> *mut MaybeUninit<Message<T>> {
        self.slots[count & (self.slots.len() - 1)].get()
    }

    /// Pushes if there is room, without waiting. Producer only.
    pub(crate) fn try_push(&self, message: Message<T>) -> Push<T> {
        // Only the producer changes the count; flags read here may be stale,
        // which the add below catches.
        let tail = self.tail.0.load(Ordering::Relaxed);
        if tail & GONE != 0 {
            return Push::Gone(message);
        }
        let pushed = count(tail);
        if distance(count(self.head.0.load(Ordering::Acquire)), pushed) >= self.capacity {
            return Push::Full(message);
        }
        // SAFETY: fewer than `capacity <= slots.len()` messages are queued,
        // so slot `pushed` lies outside `head..tail`: the consumer has
        // finished with it (acquire of head) and reads it only after the add
        // below publishes it (release); only this producer writes slots.
        unsafe { (*self.slot(pushed)).write(message) };
        let before = self.tail.0.fetch_add(ONE, Ordering::AcqRel);
        if before & GONE != 0 {
            // The plugin ended since the check: its exit counted the messages
            // below `pushed` and will read no more. Undo, and hand it back.
            self.tail.0.fetch_sub(ONE, Ordering::Relaxed);
            // SAFETY: written just above, and the consumer, gone, never reads
            // a slot at or past the tail it saw when it went.
            let message = unsafe { (*self.slot(pushed)).assume_init_read() };
            return Push::Gone(message);
        }
        if before & SLEEPING != 0 {
            self.tail.0.fetch_and(!SLEEPING, Ordering::Relaxed);
            self.consumer.wake();
        }
        Push::Pushed
    }

    /// Producer only.
    pub(crate) fn room(&self) -> Room {
        let tail = self.tail.0.load(Ordering::Relaxed);
        if tail & GONE != 0 {
            Room::Gone
        } else if distance(count(self.head.0.load(Ordering::Acquire)), count(tail)) >= self.capacity
        {
            Room::Full
        } else {
            Room::Yes
        }
    }

    /// After a push found the queue full: registers the producer and
    /// announces that it waits. `false` if there is room (or the plugin has
    /// gone) after all: push again.
    fn wait_for_room(&self, waiter: Waiter) -> bool {
        self.producer.register(waiter);
        // A `finish` that set `GONE` after this load wakes the waiter just
        // registered (both sides go through the sleeper's lock).
        if self.tail.0.load(Ordering::Acquire) & GONE != 0 {
            return false;
        }
        let head = self.head.0.load(Ordering::Acquire);
        let tail = count(self.tail.0.load(Ordering::Relaxed));
        if distance(count(head), tail) < self.capacity {
            return false;
        }
        // Fails if the consumer took messages meanwhile: then there is room.
        self.head
            .0
            .compare_exchange(head, head | WAITING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Pushes, parking the calling thread while the queue is full. Gives the
    /// message back if the plugin has gone. Producer only.
    pub(crate) fn push_blocking(&self, mut message: Message<T>) -> Result<(), Message<T>> {
        let mut yields = 0;
        loop {
            match self.try_push(message) {
                Push::Pushed => return Ok(()),
                Push::Gone(back) => return Err(back),
                Push::Full(back) => message = back,
            }
            if yields < YIELDS {
                yields += 1;
                thread::yield_now();
            } else if self.wait_for_room(Waiter::Thread(thread::current())) {
                thread::park();
            }
        }
    }

    /// Pushes, waiting asynchronously while the queue is full. Producer only.
    #[cfg(feature = "tokio")]
    pub(crate) async fn push_async(&self, message: Message<T>) -> Result<(), Message<T>> {
        let mut message = Some(message);
        poll_fn(|cx| {
            loop {
                match self.try_push(message.take().expect("polled after completion")) {
                    Push::Pushed => return Poll::Ready(Ok(())),
                    Push::Gone(back) => return Poll::Ready(Err(back)),
                    Push::Full(back) => message = Some(back),
                }
                if self.wait_for_room(Waiter::Task(cx.waker().clone())) {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    /// The host sends nothing more; the worker drains what is queued.
    pub(crate) fn close(&self) {
        let before = self.tail.0.fetch_or(CLOSED, Ordering::AcqRel);
        if before & SLEEPING != 0 {
            self.consumer.wake();
        }
    }

    /// The host sends nothing more and the worker stops before its next
    /// message.
    pub(crate) fn close_and_discard(&self) {
        self.discard.store(true, Ordering::Release);
        self.close();
    }

    fn discarding(&self) -> bool {
        self.discard.load(Ordering::Acquire)
    }

    /// Moves everything queued into `batch`, or, with nothing queued,
    /// registers `waiter` and sleeps. `Ready(false)` when the queue is closed
    /// and drained. Consumer only.
    fn poll_pop(
        &self,
        batch: &mut VecDeque<Message<T>>,
        waiter: Option<impl FnOnce() -> Waiter>,
    ) -> Poll<bool> {
        if self.discarding() {
            return Poll::Ready(false);
        }
        // Only the consumer changes the head's count.
        let taken = count(self.head.0.load(Ordering::Relaxed));
        let mut tail = self.tail.0.load(Ordering::Acquire);
        let mut waiter = waiter;
        loop {
            let queued = distance(taken, count(tail));
            if queued > 0 {
                batch.reserve(queued);
                for n in 0..queued {
                    // SAFETY: slots `taken..tail` were written and published
                    // by the producer (acquire of tail) and are read once, here.
                    batch.push_back(unsafe {
                        (*self.slot(taken.wrapping_add(n))).assume_init_read()
                    });
                }
                let before = self.head.0.fetch_add(queued * ONE, Ordering::AcqRel);
                if before & WAITING != 0 {
                    self.head.0.fetch_and(!WAITING, Ordering::Relaxed);
                    self.producer.wake();
                }
                if tail & SLEEPING != 0 {
                    // Woken by someone else: spare the producer a wake-up.
                    self.tail.0.fetch_and(!SLEEPING, Ordering::Relaxed);
                }
                return Poll::Ready(true);
            }
            if tail & CLOSED != 0 {
                return Poll::Ready(false);
            }
            let Some(make_waiter) = waiter.take() else {
                return Poll::Pending;
            };
            self.consumer.register(make_waiter());
            // Fails if anything was pushed (or the queue closed) meanwhile.
            match self.tail.0.compare_exchange(
                tail,
                tail | SLEEPING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Poll::Pending,
                Err(now) => tail = now,
            }
        }
    }

    fn pop_blocking(&self, batch: &mut VecDeque<Message<T>>) -> bool {
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
    async fn pop_async(&self, batch: &mut VecDeque<Message<T>>) -> bool {
        poll_fn(|cx| self.poll_pop(batch, Some(|| Waiter::Task(cx.waker().clone())))).await
    }

    /// The plugin has ended: refuse further pushes, wake a waiting producer,
    /// and count (and drop) what was queued but will never be handled.
    /// Consumer only.
    fn finish(&self) -> u64 {
        let tail = self.tail.0.fetch_or(GONE, Ordering::AcqRel);
        self.producer.wake();
        let taken = count(self.head.0.load(Ordering::Relaxed));
        let left = distance(taken, count(tail));
        // Move every message out of the ring and publish the new head before
        // dropping any: a message whose `Drop` panics must not leave slots
        // that `Queue::drop` would drop a second time.
        let mut unhandled = Vec::with_capacity(left);
        for n in 0..left {
            // SAFETY: slots `taken..tail` hold published messages that
            // nobody else reads: the producer pushes nothing past `GONE`, and
            // each is read once, here.
            unhandled.push(unsafe { (*self.slot(taken.wrapping_add(n))).assume_init_read() });
        }
        self.head.0.fetch_add(left * ONE, Ordering::AcqRel);
        drop_contained(unhandled);
        left as u64
    }
}

/// Drops messages the plugin will never handle. The last reference to a
/// message drops it here, in host code: a message type whose `Drop` panics
/// (the panic hook has printed it) must not cost the plugin its exit.
fn drop_contained<M>(messages: M) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(messages))) {
        panic_message(payload);
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        // A worker cancelled before `finish` (its runtime shut down) leaves
        // messages in the ring.
        let taken = count(*self.head.0.get_mut());
        let left = distance(taken, count(*self.tail.0.get_mut()));
        for n in 0..left {
            // SAFETY: slots `taken..tail` hold messages nobody took, and
            // `&mut self` means nobody else can.
            unsafe { (*self.slot(taken.wrapping_add(n))).assume_init_drop() };
        }
    }
}

/// One attached plugin: its queue and the plugin itself.
///
/// The plugin sits in a slot that the worker locks while it handles a batch,
/// so that a host being dropped can wait for the message in progress, take
/// the plugin and drop it: after the host is gone, no plugin code runs.
pub(crate) struct Worker<T: 'static> {
    pub(crate) id: PluginId,
    pub(crate) name: String,
    pub(crate) queue: Queue<T>,
    slot: Mutex<Option<Box<dyn Plugin<T>>>>,
}

#[cfg(feature = "tokio")]
/// After this many messages without a pause, a worker on an async runtime
/// yields, so that a busy plugin cannot keep other tasks off its thread.
const TASK_BUDGET: u32 = 128;

struct Progress<T> {
    batch: VecDeque<Message<T>>,
    handled: u64,
    ending: Option<Ending>,
}

impl<T: Send + Sync + 'static> Worker<T> {
    pub(crate) fn new(id: PluginId, plugin: Box<dyn Plugin<T>>, capacity: usize) -> Self {
        Self {
            id,
            name: plugin.name().to_owned(),
            queue: Queue::new(capacity),
            slot: Mutex::new(Some(plugin)),
        }
    }

    /// Handles the batch until it is empty, `limit` messages were handled,
    /// or the plugin ends. Returns how many messages were handled.
    fn handle_batch(&self, progress: &mut Progress<T>, limit: u32) -> u32 {
        let mut slot = self.slot();
        let Some(plugin) = slot.as_mut() else {
            // The host took the plugin to drop it.
            progress.ending = Some(Ending::Finished);
            return 0;
        };
        let mut count = 0;
        while count < limit && !self.queue.discarding() {
            let Some(message) = progress.batch.pop_front() else {
                break;
            };
            count += 1;
            progress.handled += 1;
            match plugin.__mpplugin_handle(message) {
                Handled::Continue => {}
                Handled::Detach(status) => {
                    progress.ending = Some(Ending::Detached(status));
                    break;
                }
                Handled::Panicked(message) => {
                    progress.ending = Some(Ending::Panicked(message));
                    break;
                }
            }
        }
        count
    }

    fn exit(&self, progress: Progress<T>) -> Exit {
        let unhandled = progress.batch.len() as u64 + self.queue.finish();
        drop_contained(progress.batch);
        let plugin = self.slot().take();
        let drop_panic = plugin.and_then(|plugin| plugin.__mpplugin_drop());
        Exit {
            id: self.id,
            name: self.name.clone(),
            ending: progress.ending.unwrap_or(Ending::Finished),
            handled: progress.handled,
            unhandled,
            drop_panic,
        }
    }

    fn progress() -> Progress<T> {
        Progress {
            batch: VecDeque::new(),
            handled: 0,
            ending: None,
        }
    }

    /// Runs the plugin on the calling thread until it ends.
    pub(crate) fn run_blocking(&self) -> Exit {
        let mut progress = Self::progress();
        while progress.ending.is_none() && self.queue.pop_blocking(&mut progress.batch) {
            self.handle_batch(&mut progress, u32::MAX);
        }
        self.exit(progress)
    }

    /// Runs the plugin as an async task until it ends.
    #[cfg(feature = "tokio")]
    pub(crate) async fn run_async(&self) -> Exit {
        let mut progress = Self::progress();
        let mut since_pause = 0;
        while progress.ending.is_none() {
            if progress.batch.is_empty() && !self.queue.pop_async(&mut progress.batch).await {
                break;
            }
            since_pause += self.handle_batch(&mut progress, TASK_BUDGET - since_pause);
            if since_pause >= TASK_BUDGET {
                since_pause = 0;
                ::tokio::task::yield_now().await;
            }
        }
        self.exit(progress)
    }
}

impl<T: 'static> Worker<T> {
    fn slot(&self) -> MutexGuard<'_, Option<Box<dyn Plugin<T>>>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(feature = "tokio")]
    /// For a host dropped without `end`: waits for the message in progress,
    /// then drops the plugin on the calling thread. The queue must have been
    /// closed with discard first.
    pub(crate) fn drop_plugin_now(&self) {
        let plugin = self.slot().take();
        if let Some(plugin) = plugin {
            // Nobody is left to read an exit: a panic in Drop is contained
            // and its message discarded.
            let _ = plugin.__mpplugin_drop();
        }
    }
}

impl<T: 'static> Drop for Worker<T> {
    fn drop(&mut self) {
        // A worker whose task was cancelled (its runtime shut down) still
        // holds its plugin: drop it through the plugin's own code, never as a
        // plain `Box` whose panic would unwind into the host.
        let plugin = self
            .slot
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(plugin) = plugin {
            let _ = plugin.__mpplugin_drop();
        }
    }
}
