//! The in-process half of a reply channel: the queue that [`Replies`]
//! reads, shared in an `Arc` with the one [`Local`] sink that every clone of
//! the host's [`Reply`] points at. A sender is whatever holds that sink (the
//! host's `Reply` clones, the process host's registry); when the last one
//! drops, the queue is closed and a waiting receiver wakes. Plain std
//! synchronisation and a `Waker`: no process, no serde.
//!
//! [`Replies`]: super::Replies
//! [`Reply`]: super::Reply

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Instant;

use super::sink::Sink;

/// The queue of one reply channel.
pub(crate) struct Channel<R> {
    state: Mutex<State<R>>,
    arrived: Condvar,
}

struct State<R> {
    queue: VecDeque<R>,
    /// Every sender is gone: nothing more arrives.
    closed: bool,
    /// The receiver is gone: a send hands its value back.
    deaf: bool,
    /// The task waiting in an async receive, if any.
    waker: Option<Waker>,
}

/// What a receive found.
pub(crate) enum Received<R> {
    Value(R),
    Empty,
    Closed,
}

impl<R> Channel<R> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                closed: false,
                deaf: false,
                waker: None,
            }),
            arrived: Condvar::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State<R>> {
        // Nothing panics while holding it (a waker's `wake` is called after).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `value`, or hands it back if the receiver is gone.
    pub(crate) fn push(&self, value: R) -> Result<(), R> {
        let mut state = self.state();
        if state.deaf {
            return Err(value);
        }
        state.queue.push_back(value);
        let waker = state.waker.take();
        drop(state);
        self.arrived.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// The last sender is gone.
    fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        let waker = state.waker.take();
        drop(state);
        self.arrived.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The receiver is gone: what is queued and what comes is dropped.
    pub(crate) fn deafen(&self) {
        let queued = {
            let mut state = self.state();
            state.deaf = true;
            state.waker = None;
            std::mem::take(&mut state.queue)
        };
        // Dropped outside the lock: a value's `Drop` may be anything.
        drop(queued);
    }

    /// A value if one is queued, without waiting; with `waker`, the task to
    /// wake when one arrives (or the channel closes).
    pub(crate) fn try_take(&self, waker: Option<&Waker>) -> Received<R> {
        let mut state = self.state();
        if let Some(value) = state.queue.pop_front() {
            return Received::Value(value);
        }
        if state.closed {
            return Received::Closed;
        }
        if let Some(waker) = waker {
            match &mut state.waker {
                Some(kept) => kept.clone_from(waker),
                none => *none = Some(waker.clone()),
            }
        }
        Received::Empty
    }

    /// Waits for a value until `deadline` (for ever without one).
    pub(crate) fn take(&self, deadline: Option<Instant>) -> Received<R> {
        let mut state = self.state();
        loop {
            if let Some(value) = state.queue.pop_front() {
                return Received::Value(value);
            }
            if state.closed {
                return Received::Closed;
            }
            state = match deadline {
                None => self
                    .arrived
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Received::Empty;
                    }
                    self.arrived
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

/// The sink of the host's [`Reply`](super::Reply): one per channel, shared
/// by every clone; dropping it closes the channel.
pub(crate) struct Local<R> {
    pub(crate) channel: Arc<Channel<R>>,
}

impl<R> Drop for Local<R> {
    fn drop(&mut self) {
        self.channel.close();
    }
}

impl<R: Send> Sink<R> for Local<R> {
    fn send(&self, value: R) -> Result<(), R> {
        self.channel.push(value)
    }
}
