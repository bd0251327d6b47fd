//! The engine both hosts share: one bounded queue and one worker per plugin.
//!
//! The host is the only producer of each queue (`send` takes `&mut self`), the
//! worker the only consumer. The consumer takes everything queued in one lock
//! (a whole batch), and each side wakes the other only when it sleeps: a
//! message costs the producer one uncontended lock, and a busy plugin costs no
//! wake-ups at all. Every push wakes a sleeping consumer at once, so no
//! message waits for a later `send`.

use std::collections::VecDeque;
use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::thread::{self, Thread};
#[cfg(feature = "tokio")]
use std::{future::poll_fn, task::Waker};

use crate::host::{Ending, Exit, PluginId};
use crate::plugin::Handled;
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

struct State<T> {
    items: VecDeque<Message<T>>,
    /// The host sends nothing more.
    closed: bool,
    /// The plugin has ended: it takes nothing more.
    gone: bool,
    consumer: Option<Waiter>,
    producer: Option<Waiter>,
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

pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    /// Set when a host is dropped without `end`: the worker stops before the
    /// next message instead of draining the queue.
    discard: AtomicBool,
}

impl<T> Queue<T> {
    fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "a plugin's queue capacity must be at least 1");
        Self {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                closed: false,
                gone: false,
                consumer: None,
                producer: None,
            }),
            capacity,
            discard: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding this lock; if something ever did, the
        // state is still consistent (every update is a single step).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes if there is room, without waiting.
    pub(crate) fn try_push(&self, message: Message<T>) -> Push<T> {
        let mut state = self.lock();
        if state.gone {
            return Push::Gone(message);
        }
        if state.items.len() >= self.capacity {
            return Push::Full(message);
        }
        state.items.push_back(message);
        let consumer = state.consumer.take();
        drop(state);
        if let Some(consumer) = consumer {
            consumer.wake();
        }
        Push::Pushed
    }

    pub(crate) fn room(&self) -> Room {
        let state = self.lock();
        if state.gone {
            Room::Gone
        } else if state.items.len() >= self.capacity {
            Room::Full
        } else {
            Room::Yes
        }
    }

    /// Pushes, parking the calling thread while the queue is full. Gives the
    /// message back if the plugin has gone.
    pub(crate) fn push_blocking(&self, mut message: Message<T>) -> Result<(), Message<T>> {
        loop {
            match self.try_push(message) {
                Push::Pushed => return Ok(()),
                Push::Gone(back) => return Err(back),
                Push::Full(back) => message = back,
            }
            let mut state = self.lock();
            // Re-check under the lock: the consumer may have made room since.
            if state.gone || state.items.len() < self.capacity {
                continue;
            }
            state.producer = Some(Waiter::Thread(thread::current()));
            drop(state);
            thread::park();
        }
    }

    /// Pushes, waiting asynchronously while the queue is full.
    #[cfg(feature = "tokio")]
    pub(crate) async fn push_async(&self, message: Message<T>) -> Result<(), Message<T>> {
        let mut message = Some(message);
        poll_fn(|cx| {
            let mut state = self.lock();
            let taken = message.take().expect("polled after completion");
            if state.gone {
                return Poll::Ready(Err(taken));
            }
            if state.items.len() >= self.capacity {
                message = Some(taken);
                state.producer = Some(Waiter::Task(cx.waker().clone()));
                return Poll::Pending;
            }
            state.items.push_back(taken);
            let consumer = state.consumer.take();
            drop(state);
            if let Some(consumer) = consumer {
                consumer.wake();
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// The host sends nothing more; the worker drains what is queued.
    pub(crate) fn close(&self) {
        let consumer = {
            let mut state = self.lock();
            state.closed = true;
            state.consumer.take()
        };
        if let Some(consumer) = consumer {
            consumer.wake();
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

    /// Moves everything queued into `batch` (which must be empty). `Ready(false)`
    /// when the queue is closed and drained.
    fn poll_pop(
        &self,
        batch: &mut VecDeque<Message<T>>,
        waiter: impl FnOnce() -> Waiter,
    ) -> Poll<bool> {
        debug_assert!(batch.is_empty());
        let mut state = self.lock();
        if self.discarding() {
            return Poll::Ready(false);
        }
        if !state.items.is_empty() {
            // Swap buffers rather than drain: the consumer's emptied buffer
            // keeps its allocation for the producer's next messages.
            mem::swap(&mut state.items, batch);
            let producer = state.producer.take();
            drop(state);
            if let Some(producer) = producer {
                producer.wake();
            }
            return Poll::Ready(true);
        }
        if state.closed {
            return Poll::Ready(false);
        }
        state.consumer = Some(waiter());
        Poll::Pending
    }

    fn pop_blocking(&self, batch: &mut VecDeque<Message<T>>) -> bool {
        loop {
            if let Poll::Ready(more) = self.poll_pop(batch, || Waiter::Thread(thread::current())) {
                return more;
            }
            thread::park();
        }
    }

    #[cfg(feature = "tokio")]
    async fn pop_async(&self, batch: &mut VecDeque<Message<T>>) -> bool {
        poll_fn(|cx| self.poll_pop(batch, || Waiter::Task(cx.waker().clone()))).await
    }

    /// The plugin has ended: refuse further pushes, wake a waiting producer,
    /// and count (and drop) what was queued but will never be handled.
    fn finish(&self) -> u64 {
        let (left, producer) = {
            let mut state = self.lock();
            state.gone = true;
            (mem::take(&mut state.items), state.producer.take())
        };
        if let Some(producer) = producer {
            producer.wake();
        }
        left.len() as u64
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
        drop(progress.batch);
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
