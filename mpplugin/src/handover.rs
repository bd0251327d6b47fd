//! A plugin replaced by another: the [`Swap`] a host hands a plugin's worker
//! (the new plugin and the position in the queue where it takes over), and
//! the [`Replaced`] the host gives its owner, through which the old plugin's
//! [`Exit`] arrives once the worker has made the swap. Shared by both hosts
//! and `worker.rs`; it imports none of them, and holds no `unsafe`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::exit::{Ending, Exit, PluginId};
use crate::plugin::Plugin;

/// One replace on its way through a plugin's queue: the new plugin takes
/// over before the message at position `at` (the count of messages written
/// to the queue before the replace).
pub(crate) struct Swap<T: 'static> {
    pub(crate) at: u64,
    plugin: Option<Box<dyn Plugin<T>>>,
    outcome: Arc<Outcome>,
}

impl<T: 'static> Swap<T> {
    /// A swap for plugin `id` at position `at`, and its owner's handle.
    pub(crate) fn new(id: PluginId, plugin: Box<dyn Plugin<T>>, at: u64) -> (Self, Replaced) {
        let outcome = Arc::new(Outcome {
            id,
            exit: Mutex::new((None, None)),
            arrived: Condvar::new(),
        });
        let replaced = Replaced {
            outcome: Arc::clone(&outcome),
        };
        let swap = Self {
            at,
            plugin: Some(plugin),
            outcome,
        };
        (swap, replaced)
    }

    /// The new plugin, handed over once.
    pub(crate) fn take_plugin(&mut self) -> Option<Box<dyn Plugin<T>>> {
        self.plugin.take()
    }

    /// Reports the old plugin's exit to the owner of the [`Replaced`].
    pub(crate) fn report(&self, exit: Exit) {
        self.outcome.report(exit);
    }
}

impl<T: 'static> Drop for Swap<T> {
    fn drop(&mut self) {
        // A swap that never took place (its worker was dropped with the
        // host, or its task with the runtime): the new plugin is dropped
        // through its own code, and the owner is told.
        if let Some(plugin) = self.plugin.take() {
            let name = plugin.name().to_owned();
            let drop_panic = plugin.__mpplugin_drop();
            self.outcome.report(Exit {
                id: self.outcome.id,
                name,
                ending: Ending::Abandoned,
                handled: 0,
                unhandled: 0,
                drop_panic,
                message_drop_panics: 0,
            });
        }
    }
}

struct Outcome {
    id: PluginId,
    /// The exit, once reported; the task waiting for it.
    exit: Mutex<(Option<Exit>, Option<Waker>)>,
    arrived: Condvar,
}

impl Outcome {
    fn lock(&self) -> MutexGuard<'_, (Option<Exit>, Option<Waker>)> {
        // Nothing panics while holding this lock.
        self.exit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first report stands.
    fn report(&self, exit: Exit) {
        let waker = {
            let mut state = self.lock();
            if state.0.is_some() {
                return;
            }
            state.0 = Some(exit);
            state.1.take()
        };
        self.arrived.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// What `replace` returns: the handle through which the replaced plugin's
/// [`Exit`] arrives.
///
/// The swap travels through the plugin's queue: the old plugin handles
/// every message sent before the `replace`, then the worker drops it and
/// reports its exit here (`Ending::Finished` when it was still running,
/// with what it `handled`; how it ended if it had detached or panicked
/// before, with the messages sent to it after that counted `unhandled`).
/// A swap that never takes place because its host was dropped first is
/// reported [`Ending::Abandoned`] for the new plugin, which is dropped.
///
/// Dropping the handle does not cancel the swap. Waiting for the exit is
/// optional: [`try_exit`](Self::try_exit) never waits, [`wait`](Self::wait)
/// blocks the thread, and the handle is a [`Future`] for async code.
pub struct Replaced {
    outcome: Arc<Outcome>,
}

impl Replaced {
    /// The plugin replaced: the id the new plugin keeps.
    pub fn id(&self) -> PluginId {
        self.outcome.id
    }

    /// The old plugin's exit if the swap has taken place; never waits.
    pub fn try_exit(&self) -> Option<Exit> {
        self.outcome.lock().0.clone()
    }

    /// Blocks the thread until the swap has taken place, and returns the
    /// old plugin's exit. In async code, `.await` the handle instead.
    ///
    /// The swap waits for the old plugin to handle what was sent to it
    /// before the replace: a plugin stuck in its handler makes this wait as
    /// long.
    pub fn wait(self) -> Exit {
        let mut state = self.outcome.lock();
        loop {
            if let Some(exit) = &state.0 {
                return exit.clone();
            }
            state = self
                .outcome
                .arrived
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Future for Replaced {
    type Output = Exit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Exit> {
        let mut state = self.outcome.lock();
        match &state.0 {
            Some(exit) => Poll::Ready(exit.clone()),
            None => {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl fmt::Debug for Replaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replaced")
            .field("id", &self.outcome.id)
            .field("exit", &self.try_exit())
            .finish()
    }
}
