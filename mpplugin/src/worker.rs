//! The code that runs one plugin: a [`Worker`] takes batches from its
//! plugin's queue, calls the plugin's handler through the plugin's own code
//! (so that its panics are caught there), and reports how it ended as an
//! [`Exit`]. It runs on a thread of the std host or as a task of the tokio
//! host, and knows neither host. It holds no `unsafe`: the ring is
//! `queue.rs`'s.
//!
//! A replace reaches the worker as a [`Swap`] in a side slot, announced by a
//! mark on the queue ([`Queue::mark`]) set before any later message is
//! written: the worker counts the messages it takes, and before the message
//! at the swap's position it drops the old plugin, reports its exit through
//! the swap, and runs the new one. An old plugin that ended (detached or
//! panicked) before its swap's position leaves the messages up to it
//! unhandled, counted in its exit, and the worker goes on to the swap; one
//! that ended with no swap offered closes the side slot, so that a later
//! replace starts a new worker instead.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::exit::{Ending, Exit, PluginId};
use crate::handover::{Handover, Swap, hand_over};
use crate::message::{Message, take_drop_panics};
use crate::plugin::Handled;
use crate::plugin::Plugin;
use crate::queue::{Queue, drop_each_contained, position};

/// One attached plugin: its queue and the plugin itself.
///
/// The plugin sits in a slot that the worker locks while it handles a batch,
/// so that a host being dropped can wait for the message in progress, take
/// the plugin and drop it: after the host is gone, no plugin code runs.
pub(crate) struct Worker<T: 'static> {
    pub(crate) id: PluginId,
    /// The name of the plugin running now.
    name: Mutex<String>,
    pub(crate) queue: Queue<T>,
    slot: Mutex<Option<Box<dyn Plugin<T>>>>,
    /// Swaps offered by the host and not yet taken by the worker.
    swaps: Mutex<Swaps<T>>,
    /// Calls of `handle_message` so far, the one in progress included: what
    /// a host reports of a plugin it abandons.
    calls: AtomicU64,
    /// Set once the worker has ended, for a host that waits with a deadline.
    ended: Ended,
}

struct Swaps<T: 'static> {
    offered: VecDeque<Swap<T>>,
    /// The worker takes no more swaps: its last plugin has ended.
    closed: bool,
}

/// Whether a worker has ended, for a host that waits for it with a deadline
/// (a thread cannot be joined with one).
struct Ended {
    ended: Mutex<bool>,
    changed: Condvar,
}

impl Ended {
    fn flag(&self) -> MutexGuard<'_, bool> {
        // Nothing panics while holding this lock.
        self.ended.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self) {
        *self.flag() = true;
        self.changed.notify_all();
    }

    /// Whether the worker ended by `deadline`.
    fn wait_until(&self, deadline: Instant) -> bool {
        let mut ended = self.flag();
        while !*ended {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            ended = match self.changed.wait_timeout(ended, left) {
                Ok((ended, _)) => ended,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}

#[cfg(feature = "tokio")]
/// After this many messages without a pause, a worker on an async runtime
/// yields, so that a busy plugin cannot keep other tasks off its thread.
const TASK_BUDGET: u32 = 128;

struct Progress<T: 'static> {
    batch: VecDeque<Message<T>>,
    /// Messages taken from the queue so far, by every plugin of the worker:
    /// the position swaps are placed at.
    taken: u64,
    /// Swaps taken from the side slot, in position order.
    swaps: VecDeque<Swap<T>>,
    // The rest is the running plugin's, reset at a swap.
    handled: u64,
    /// Messages taken after the plugin ended, before its swap.
    unhandled: u64,
    ending: Option<Ending>,
    /// Messages released by this worker whose `Drop` panicked.
    drop_panics: u64,
}

impl<T: Send + Sync + 'static> Worker<T> {
    /// # Panics
    /// If `capacity` is 0, above 2^60, or a queue of that many messages
    /// cannot be allocated (the plugin is dropped first, contained).
    pub(crate) fn new(id: PluginId, plugin: Box<dyn Plugin<T>>, capacity: usize) -> Self {
        let queue = match Queue::new(capacity) {
            Ok(queue) => queue,
            Err(refusal) => {
                let _ = plugin.__mpplugin_drop();
                panic!("{refusal}");
            }
        };
        Self {
            id,
            name: Mutex::new(plugin.name().to_owned()),
            queue,
            slot: Mutex::new(Some(plugin)),
            swaps: Mutex::new(Swaps {
                offered: VecDeque::new(),
                closed: false,
            }),
            calls: AtomicU64::new(0),
            ended: Ended {
                ended: Mutex::new(false),
                changed: Condvar::new(),
            },
        }
    }

    /// Handles the batch until it is empty, `limit` messages were handled,
    /// or the plugin ends with no swap to go on to, making each swap that
    /// falls due on the way. Returns how many messages were handled.
    fn handle_batch(&self, progress: &mut Progress<T>, limit: u32) -> u32 {
        let mut slot = self.slot();
        // A message whose value the handler drops (the last reference)
        // and whose `Drop` panics is contained by `Message`'s drop, in the
        // plugin's copy of mpplugin, and counted on this thread there: not
        // the plugin's panic. Counts are per thread and a task may change
        // threads between batches, so they are read around each batch, and
        // at a swap for the old plugin.
        take_drop_panics();
        if let Some(plugin) = slot.as_mut() {
            plugin.__mpplugin_message_drop_panics();
        }
        let mut count = 0;
        loop {
            while self.swap_due(progress) {
                self.swap(&mut slot, progress);
            }
            let Some(plugin) = slot.as_mut() else {
                // The host took the plugin to drop it.
                progress.ending.get_or_insert(Ending::Finished);
                break;
            };
            if (progress.ending.is_some() && progress.swaps.is_empty()) || count >= limit {
                break;
            }
            if self.queue.discarding() {
                // Dropped or abandoned by its host: nobody reads this exit.
                progress.ending.get_or_insert(Ending::Finished);
                break;
            }
            let Some(message) = progress.batch.pop_front() else {
                break;
            };
            progress.taken += 1;
            if progress.ending.is_some() {
                // Sent to a plugin that has ended, before its successor
                // takes over.
                progress.unhandled += 1;
                progress.drop_panics += drop_each_contained([message]);
                continue;
            }
            count += 1;
            progress.handled += 1;
            self.calls.store(progress.handled, Ordering::Relaxed);
            match plugin.__mpplugin_handle(message) {
                Handled::Continue => {}
                Handled::Detach(status) => progress.ending = Some(Ending::Detached(status)),
                Handled::Panicked(message) => progress.ending = Some(Ending::Panicked(message)),
            }
        }
        progress.drop_panics += take_drop_panics();
        if let Some(plugin) = slot.as_mut() {
            progress.drop_panics += plugin.__mpplugin_message_drop_panics();
        }
        count
    }

    /// Makes the first swap: the old plugin dropped and its exit reported,
    /// the new one in the slot. With the slot empty or the queue discarded
    /// (the host is dropping its plugins), the new plugin is dropped
    /// instead, reported abandoned.
    fn swap(&self, slot: &mut Option<Box<dyn Plugin<T>>>, progress: &mut Progress<T>) {
        let Some(mut swap) = progress.swaps.pop_front() else {
            return;
        };
        if slot.is_none() || self.queue.discarding() {
            // Nobody is left to run the new plugin: the swap, dropped,
            // drops it and reports it abandoned.
            return;
        }
        let Some(new) = swap.take_plugin() else {
            return;
        };
        let new_name = new.name().to_owned();
        let Some(old) = slot.take() else {
            return;
        };
        progress.drop_panics += take_drop_panics() + old.__mpplugin_message_drop_panics();
        // Counted from here on for the new plugin.
        new.__mpplugin_message_drop_panics();
        let ending = progress.ending.take();
        let (drop_panic, new, handover) = if ending.is_some() {
            // An ended plugin hands nothing over: its state may be half
            // changed by the handler that panicked.
            (old.__mpplugin_drop(), new, Handover::OldEnded)
        } else {
            hand_over(old, new)
        };
        *slot = Some(new);
        let name = std::mem::replace(&mut *self.name(), new_name);
        self.calls.store(0, Ordering::Relaxed);
        swap.report(
            Exit {
                id: self.id,
                name,
                ending: ending.unwrap_or(Ending::Finished),
                handled: std::mem::take(&mut progress.handled),
                unhandled: std::mem::take(&mut progress.unhandled),
                drop_panic,
                message_drop_panics: std::mem::take(&mut progress.drop_panics),
            },
            handover,
        );
    }

    /// Moves the swaps the host offered into `progress`, if it marked the
    /// queue since the last look. `close`: the plugin has ended; if no swap
    /// is offered or pending either, take no more (the host then starts a
    /// new worker for a replace). Returns whether a swap is pending.
    fn take_swaps(&self, progress: &mut Progress<T>, close: bool) -> bool {
        if close || self.queue.take_mark() {
            let mut swaps = self.swaps();
            self.queue.take_mark();
            progress.swaps.extend(swaps.offered.drain(..));
            if close && progress.swaps.is_empty() {
                swaps.closed = true;
            }
        }
        !progress.swaps.is_empty()
    }

    /// Offers a swap to the worker, or hands it back if the worker takes no
    /// more (its plugin has ended): then the host starts a new worker.
    pub(crate) fn offer(&self, swap: Swap<T>) -> Result<(), Swap<T>> {
        let mut swaps = self.swaps();
        if swaps.closed {
            return Err(swap);
        }
        swaps.offered.push_back(swap);
        self.queue.mark();
        Ok(())
    }

    /// Whether a swap falls due before the next message.
    fn swap_due(&self, progress: &Progress<T>) -> bool {
        progress
            .swaps
            .front()
            .is_some_and(|swap| swap.at == position(progress.taken))
    }

    fn exit(&self, mut progress: Progress<T>) -> Exit {
        {
            let mut swaps = self.swaps();
            swaps.closed = true;
            progress.swaps.extend(swaps.offered.drain(..));
        }
        let left = self.queue.finish();
        // Swaps whose position the queue never reached (the host dropped
        // or abandoned the plugin): made now, each plugin reporting what it
        // did.
        while !progress.swaps.is_empty() {
            self.swap(&mut self.slot(), &mut progress);
        }
        let in_batch = progress.batch.len() as u64;
        let drop_panics =
            progress.drop_panics + left.drop_panics + drop_each_contained(progress.batch);
        let plugin = self.slot().take();
        let drop_panic = plugin.and_then(|plugin| plugin.__mpplugin_drop());
        let exit = Exit {
            id: self.id,
            name: self.name().clone(),
            ending: progress.ending.unwrap_or(Ending::Finished),
            handled: progress.handled,
            unhandled: progress.unhandled + in_batch + left.unhandled,
            drop_panic,
            message_drop_panics: drop_panics,
        };
        self.ended.set();
        exit
    }

    fn progress() -> Progress<T> {
        Progress {
            batch: VecDeque::new(),
            taken: 0,
            swaps: VecDeque::new(),
            handled: 0,
            unhandled: 0,
            ending: None,
            drop_panics: 0,
        }
    }

    /// Runs the plugin on the calling thread until it ends.
    pub(crate) fn run_blocking(&self) -> Exit {
        let mut progress = Self::progress();
        loop {
            if progress.ending.is_some() && !self.take_swaps(&mut progress, true) {
                break;
            }
            if self.swap_due(&progress) {
                // Due with nothing more to take (the mark already taken):
                // made now, not at the next message.
                self.handle_batch(&mut progress, u32::MAX);
                continue;
            }
            let more = self.queue.pop_blocking(&mut progress.batch);
            self.take_swaps(&mut progress, false);
            self.handle_batch(&mut progress, u32::MAX);
            if !more {
                break;
            }
        }
        self.exit(progress)
    }

    /// Runs the plugin as an async task until it ends.
    #[cfg(feature = "tokio")]
    pub(crate) async fn run_async(&self) -> Exit {
        let mut progress = Self::progress();
        let mut since_pause = 0;
        loop {
            if progress.ending.is_some() && !self.take_swaps(&mut progress, true) {
                break;
            }
            let mut more = true;
            if progress.batch.is_empty() && !self.swap_due(&progress) {
                more = self.queue.pop_async(&mut progress.batch).await;
                self.take_swaps(&mut progress, false);
            }
            since_pause += self.handle_batch(&mut progress, TASK_BUDGET - since_pause);
            if !more {
                break;
            }
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

    fn swaps(&self) -> MutexGuard<'_, Swaps<T>> {
        // Nothing panics while holding this lock.
        self.swaps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The name of the plugin running now.
    pub(crate) fn name(&self) -> MutexGuard<'_, String> {
        // Nothing panics while holding this lock.
        self.name.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the worker has ended (its exit made, its plugin dropped) by
    /// `deadline`. Waits at most until then.
    pub(crate) fn ended_by(&self, deadline: Instant) -> bool {
        self.ended.wait_until(deadline)
    }

    /// The exit of a plugin the host stops waiting for while it still runs:
    /// its queue discarded, so that it handles nothing more once the handler
    /// in progress returns; then its worker drops it, where it runs. The
    /// queue must have been closed.
    pub(crate) fn abandon(&self) -> Exit {
        self.queue.close_and_discard();
        Exit {
            id: self.id,
            name: self.name().clone(),
            ending: Ending::Abandoned,
            handled: self.calls.load(Ordering::Relaxed),
            unhandled: 0,
            drop_panic: None,
            message_drop_panics: 0,
        }
    }

    /// The exit of a plugin whose thread or task failed (a bug of
    /// mpplugin's, not the plugin's: plugin code runs contained).
    pub(crate) fn failed(&self, why: String) -> Exit {
        Exit {
            id: self.id,
            name: self.name().clone(),
            ending: Ending::Panicked(why),
            handled: self.calls.load(Ordering::Relaxed),
            unhandled: 0,
            drop_panic: None,
            message_drop_panics: 0,
        }
    }

    #[cfg(feature = "tokio")]
    /// For a host whose `end` was cancelled: drops the plugin now if no
    /// handler runs, and otherwise leaves it to its worker, which stops
    /// after the handler in progress (the queue must have been closed with
    /// discard) and drops it there. Never waits.
    pub(crate) fn drop_plugin_if_idle(&self) {
        let plugin = match self.slot.try_lock() {
            Ok(mut slot) => slot.take(),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(plugin) = plugin {
            let _ = plugin.__mpplugin_drop();
        }
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
