//! A plugin replaced by another: the [`Swap`] a host hands a plugin's worker
//! (the new plugin and the position in the queue where it takes over), and
//! the [`Replaced`] the host gives its owner, through which the old plugin's
//! [`Exit`] arrives once the worker has made the swap; and the handover of
//! the old plugin's state to the new one ([`Handover`]). Shared by both
//! hosts and `worker.rs`; it imports none of them. Its `unsafe` is the
//! state's: a `Box` made by one build's `save` and consumed by another's
//! `restore`, or by the first build's drop, once.

use std::ffi::c_void;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::exit::{Ending, Exit, PluginId};
use crate::plugin::{Plugin, Saved};
use crate::shape::{ShapeRef, TypeShape};

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
            exit: Mutex::new(State {
                exit: None,
                waker: None,
            }),
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

    /// Reports the old plugin's exit, and what became of its state, to the
    /// owner of the [`Replaced`].
    pub(crate) fn report(&self, exit: Exit, handover: Handover) {
        self.outcome.report(exit, handover);
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
            self.outcome.report(
                Exit {
                    id: self.outcome.id,
                    name,
                    ending: Ending::Abandoned,
                    handled: 0,
                    unhandled: 0,
                    drop_panic,
                    message_drop_panics: 0,
                },
                Handover::Abandoned,
            );
        }
    }
}

/// What became of the old plugin's state at a replace: whether the new
/// plugin was restored from it or started as constructed, and why.
///
/// A plugin declares its state in its `#[plugin]` block with `fn save(self)
/// -> S` and `fn restore(state: S) -> Self`, `S: Shape`. At the swap the
/// old plugin is turned into its state, the shape of `S` compared with the
/// new plugin's as a message type is, and the new plugin rebuilt from it;
/// anything else leaves the new plugin as constructed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handover {
    /// The new plugin was restored from the old one's state.
    Carried,
    /// The old plugin had ended (detached or panicked) before the swap: it
    /// was dropped, not saved, and the new plugin starts as constructed.
    OldEnded,
    /// The old plugin declares no `save`: it was dropped, and the new
    /// plugin starts as constructed.
    NotSaved,
    /// The new plugin declares no `restore`: the old state was dropped.
    NotRestored,
    /// The two states differ in shape: the old state was dropped. The
    /// difference, as a refused load says it (host: the old build; plugin:
    /// the new).
    ShapeMismatch(String),
    /// The old plugin's `save` panicked with this message: its state is
    /// lost, and the new plugin starts as constructed.
    SavePanicked(String),
    /// The new plugin's `restore` panicked with this message: the state is
    /// lost, and the new plugin runs as constructed.
    RestorePanicked(String),
    /// The swap never took place: the host was dropped first, and the new
    /// plugin was dropped unused.
    Abandoned,
}

impl fmt::Display for Handover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handover::Carried => write!(f, "the state was carried over"),
            Handover::OldEnded => write!(f, "the old plugin had ended: the new one starts fresh"),
            Handover::NotSaved => write!(
                f,
                "the old plugin declares no `save`: the new one starts fresh"
            ),
            Handover::NotRestored => {
                write!(f, "the new plugin declares no `restore`: it starts fresh")
            }
            Handover::ShapeMismatch(difference) => write!(
                f,
                "the state's shape changed, so the new plugin starts fresh: {difference}"
            ),
            Handover::SavePanicked(message) => {
                write!(
                    f,
                    "`save` panicked, so the new plugin starts fresh: {message}"
                )
            }
            Handover::RestorePanicked(message) => {
                write!(
                    f,
                    "`restore` panicked, so the new plugin runs as constructed: {message}"
                )
            }
            Handover::Abandoned => {
                write!(f, "the swap never took place: the host was dropped first")
            }
        }
    }
}

struct State {
    exit: Option<(Exit, Handover)>,
    waker: Option<Waker>,
}

struct Outcome {
    id: PluginId,
    /// The exit and the handover, once reported; the task waiting for it.
    exit: Mutex<State>,
    arrived: Condvar,
}

impl Outcome {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding this lock.
        self.exit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first report stands.
    fn report(&self, exit: Exit, handover: Handover) {
        let waker = {
            let mut state = self.lock();
            if state.exit.is_some() {
                return;
            }
            state.exit = Some((exit, handover));
            state.waker.take()
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
/// blocks the thread, and [`exit`](Self::exit) is for async code.
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
        self.outcome
            .lock()
            .exit
            .as_ref()
            .map(|(exit, _)| exit.clone())
    }

    /// What became of the old plugin's state, if the swap has taken place;
    /// never waits.
    pub fn handover(&self) -> Option<Handover> {
        self.outcome
            .lock()
            .exit
            .as_ref()
            .map(|(_, handover)| handover.clone())
    }

    /// Waits, asynchronously, until the swap has taken place, and returns
    /// the old plugin's exit: [`wait`](Self::wait) for async code.
    pub async fn exit(&self) -> Exit {
        std::future::poll_fn(|cx| self.poll_exit(cx)).await
    }

    fn poll_exit(&self, cx: &mut Context<'_>) -> Poll<Exit> {
        let mut state = self.outcome.lock();
        match &state.exit {
            Some((exit, _)) => Poll::Ready(exit.clone()),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// [`wait`](Self::wait), with what became of the old plugin's state.
    pub fn wait_handover(self) -> (Exit, Handover) {
        let mut state = self.outcome.lock();
        loop {
            if let Some(done) = &state.exit {
                return done.clone();
            }
            state = self
                .outcome
                .arrived
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Blocks the thread until the swap has taken place, and returns the
    /// old plugin's exit. In async code, `.await` [`exit`](Self::exit) instead.
    ///
    /// The swap waits for the old plugin to handle what was sent to it
    /// before the replace: a plugin stuck in its handler makes this wait as
    /// long.
    pub fn wait(self) -> Exit {
        self.wait_handover().0
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

/// Turns the old plugin into its state and the new one into a plugin
/// restored from it, where both declare a state of the same shape: the old
/// plugin's drop panic, the new plugin, and what became of the state. Every
/// call is plugin code with its panics contained there.
pub(crate) fn hand_over<T: 'static>(
    old: Box<dyn Plugin<T>>,
    mut new: Box<dyn Plugin<T>>,
) -> (Option<String>, Box<dyn Plugin<T>>, Handover) {
    let old_shape = old
        .__mpplugin_state_shape()
        .map(|root| (root, old.__mpplugin_state_anchor()));
    let state = match old.__mpplugin_save() {
        Saved::Nothing(drop_panic) => return (drop_panic, new, Handover::NotSaved),
        Saved::Panicked(message) => return (None, new, Handover::SavePanicked(message)),
        Saved::State(state) => state,
    };
    let refused = match new.__mpplugin_state_shape() {
        None => Some(Handover::NotRestored),
        Some(shape) => state_shape_difference(old_shape, (shape, new.__mpplugin_state_anchor()))
            .map(Handover::ShapeMismatch),
    };
    if let Some(refused) = refused {
        // SAFETY: the state is the `Box` that `save` made, dropped once, by
        // the old plugin's code (its library is never closed).
        let _ = unsafe { (state.drop)(state.state) };
        return (None, new, refused);
    }
    // SAFETY: the new plugin's state has the saved state's shape (equal
    // encodings of the two graphs), and the state is handed over once.
    let handover = match unsafe { new.__mpplugin_restore(state.state) } {
        Ok(()) => Handover::Carried,
        Err(message) => Handover::RestorePanicked(message),
    };
    (None, new, handover)
}

/// How the old plugin's state shape and the new one's differ, as a refused
/// load says it; `None` if they are the same. Both are read by the host out
/// of the memory of the object each plugin says holds them (its library),
/// every pointer checked, as a declaration's shapes are.
fn state_shape_difference(
    old: Option<(ShapeRef, *const c_void)>,
    new: (ShapeRef, *const c_void),
) -> Option<String> {
    let read = |(root, anchor)| {
        crate::load::state_shape(root, anchor)
            .map_err(|reason| format!("a state shape is malformed: {reason}"))
    };
    let (old, new) = match (old.map(read), read(new)) {
        (Some(Ok(old)), Ok(new)) => (old, new),
        (None, _) => return Some("the old plugin declares no state shape".to_owned()),
        (Some(Err(error)), _) | (_, Err(error)) => return Some(error),
    };
    if old == new {
        return None;
    }
    Some(match TypeShape::difference(&old, &new) {
        Some(difference) => difference.to_string(),
        None => "the two shapes are encoded differently".to_owned(),
    })
}
