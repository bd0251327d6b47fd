//! The code that runs one plugin: a [`Worker`] takes batches from its
//! plugin's queue, calls the plugin's handler through the plugin's own code
//! (so that its panics are caught there), and reports how it ended as an
//! [`Exit`]. It runs on a thread of the std host or as a task of the tokio
//! host, and knows neither host. It holds no `unsafe`: the ring is
//! `queue.rs`'s.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::exit::{Ending, Exit, PluginId};
use crate::message::{Message, take_drop_panics};
use crate::plugin::Handled;
use crate::plugin::Plugin;
use crate::queue::{Queue, drop_each_contained};

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
    /// Calls of `handle_message` so far, the one in progress included: what
    /// a host reports of a plugin it abandons.
    calls: AtomicU64,
    /// Set once the worker has ended, for a host that waits with a deadline.
    ended: Ended,
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

struct Progress<T> {
    batch: VecDeque<Message<T>>,
    handled: u64,
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
            name: plugin.name().to_owned(),
            queue,
            slot: Mutex::new(Some(plugin)),
            calls: AtomicU64::new(0),
            ended: Ended {
                ended: Mutex::new(false),
                changed: Condvar::new(),
            },
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
        // A message whose value the handler drops (the last reference)
        // and whose `Drop` panics is contained by `Message`'s drop, in the
        // plugin's copy of mpplugin, and counted on this thread there: not
        // the plugin's panic. Counts are per thread and a task may change
        // threads between batches, so they are read around each batch.
        take_drop_panics();
        plugin.__mpplugin_message_drop_panics();
        let mut count = 0;
        while count < limit {
            if self.queue.discarding() {
                // Dropped or abandoned by its host: nobody reads this exit.
                progress.ending = Some(Ending::Finished);
                break;
            }
            let Some(message) = progress.batch.pop_front() else {
                break;
            };
            count += 1;
            progress.handled += 1;
            self.calls.store(progress.handled, Ordering::Relaxed);
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
        progress.drop_panics += take_drop_panics() + plugin.__mpplugin_message_drop_panics();
        count
    }

    fn exit(&self, progress: Progress<T>) -> Exit {
        let left = self.queue.finish();
        let in_batch = progress.batch.len() as u64;
        let drop_panics =
            progress.drop_panics + left.drop_panics + drop_each_contained(progress.batch);
        let plugin = self.slot().take();
        let drop_panic = plugin.and_then(|plugin| plugin.__mpplugin_drop());
        let exit = Exit {
            id: self.id,
            name: self.name.clone(),
            ending: progress.ending.unwrap_or(Ending::Finished),
            handled: progress.handled,
            unhandled: in_batch + left.unhandled,
            drop_panic,
            message_drop_panics: drop_panics,
        };
        self.ended.set();
        exit
    }

    fn progress() -> Progress<T> {
        Progress {
            batch: VecDeque::new(),
            handled: 0,
            ending: None,
            drop_panics: 0,
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
            name: self.name.clone(),
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
            name: self.name.clone(),
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
