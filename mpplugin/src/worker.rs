//! The code that runs one plugin: a [`Worker`] takes batches from its
//! plugin's queue, calls the plugin's handler through the plugin's own code
//! (so that its panics are caught there), and reports how it ended as an
//! [`Exit`]. It runs on a thread of the std host or as a task of the tokio
//! host, and knows neither host. It holds no `unsafe`: the ring is
//! `queue.rs`'s.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::exit::{Ending, Exit, PluginId};
use crate::message::Message;
use crate::plugin::Handled;
use crate::plugin::Plugin;
use crate::queue::{Queue, drop_contained};

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
