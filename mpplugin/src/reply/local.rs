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
        // Nothing panics while holding it: a waker's `wake`, clone and drop,
        // and a value's drop, run after it is released.
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
        let (queued, waker) = {
            let mut state = self.state();
            state.deaf = true;
            (std::mem::take(&mut state.queue), state.waker.take())
        };
        // Dropped outside the lock: a value's `Drop` may be anything, and
        // so may a waker's (the executor's code).
        drop(queued);
        drop(waker);
    }

    /// A value if one is queued, without waiting; with `waker`, the task to
    /// wake when one arrives (or the channel closes).
    pub(crate) fn try_take(&self, waker: Option<&Waker>) -> Received<R> {
        // Cloned before the lock, and whichever waker is not kept dropped
        // after it: a waker's clone and drop are the executor's code.
        let mut waker = waker.cloned();
        let mut state = self.state();
        let received = if let Some(value) = state.queue.pop_front() {
            Received::Value(value)
        } else if state.closed {
            Received::Closed
        } else {
            if waker.is_some() {
                std::mem::swap(&mut state.waker, &mut waker);
            }
            Received::Empty
        };
        drop(state);
        drop(waker);
        received
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

#[cfg(test)]
mod tests {
    use std::sync::Weak;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    /// A task's waker that, when dropped, notes whether its channel's lock
    /// was held: the executor's code must not run under it.
    struct Probe {
        channel: Weak<Channel<u8>>,
        dropped: Arc<AtomicUsize>,
        under_lock: Arc<AtomicUsize>,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {}
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
            let channel = self.channel.upgrade().expect("the test keeps the channel");
            if channel.state.try_lock().is_err() {
                self.under_lock.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn a_waker_is_dropped_outside_the_lock_when_replaced_and_when_the_receiver_goes() {
        let channel = Channel::<u8>::new();
        let dropped = Arc::new(AtomicUsize::new(0));
        let under_lock = Arc::new(AtomicUsize::new(0));
        let waker = || {
            Waker::from(Arc::new(Probe {
                channel: Arc::downgrade(&channel),
                dropped: Arc::clone(&dropped),
                under_lock: Arc::clone(&under_lock),
            }))
        };
        let first = waker();
        assert!(matches!(channel.try_take(Some(&first)), Received::Empty));
        drop(first);
        // Another task polls: the channel's clone of the first is the last.
        let second = waker();
        assert!(matches!(channel.try_take(Some(&second)), Received::Empty));
        drop(second);
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "the first replaced");
        channel.deafen();
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            2,
            "the second with the receiver"
        );
        assert_eq!(under_lock.load(Ordering::SeqCst), 0);
    }
}
