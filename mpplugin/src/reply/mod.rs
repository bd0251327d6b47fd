//! Replies from plugins: a [`Reply`] travels inside a message, each plugin
//! that gets the message may answer through it, and the host reads the
//! answers from [`Replies`]. The same plugin code answers on every host:
//! the std host's threads, the tokio host's tasks, and (feature `process`)
//! a child process, where the reply comes back over the child's socket.
//!
//! ```
//! use mpplugin::reply::{self, Reply};
//!
//! #[derive(mpplugin::Shape)]
//! enum Command {
//!     Add(u64),
//!     Total(Reply<u64>),
//! }
//!
//! #[derive(Default)]
//! struct Sum(u64);
//!
//! impl mpplugin::Plugin<Command> for Sum {
//!     fn handle_message(&mut self, command: mpplugin::Message<Command>) -> Option<u8> {
//!         match &*command {
//!             Command::Add(n) => self.0 += n,
//!             // The host may have stopped listening: that is its business.
//!             Command::Total(reply) => drop(reply.send(self.0)),
//!         }
//!         None
//!     }
//! }
//!
//! let mut host = mpplugin::Host::<Command>::new();
//! host.attach(Sum::default());
//! host.send(Command::Add(2)).unwrap();
//! let (reply, replies) = reply::channel();
//! host.send(Command::Total(reply)).unwrap();
//! assert_eq!(replies.recv(), Ok(2));
//! // The message, and the `Reply` in it, is dropped once every plugin has
//! // handled it: then nothing more can come.
//! assert!(replies.recv().is_err());
//! # host.end();
//! ```
//!
//! # Closed
//!
//! [`Replies`] reports the channel closed once every clone of its
//! [`Reply`] is gone: in the host, in every plugin, and in every child
//! process it was sent to. A child that ends in any way (a crash included)
//! lets go of what it held, so a host waiting for replies never hangs on a
//! plugin that can no longer answer.
//!
//! # Across the boundary
//!
//! In-process a `Reply` is an `Arc` shared between the host and its
//! plugins, which the loader lets cross because host and plugin are built by
//! the same rustc; its [`Shape`](crate::Shape) names this crate's version,
//! so that a plugin built against another `Reply` is refused. Across a
//! process (feature `serde`, which `process` turns on), a `Reply`
//! serialises to an id only while the process host serialises a message
//! (anywhere else it is a serde error); the child's copy sends each answer
//! back as bytes, and the host decodes it and queues it here.
//!
//! # Where it lives
//!
//! `mod.rs` the two ends; `sink.rs` what a `Reply` points at; `local.rs`
//! the queue and the in-process sink; `remote.rs` (feature `serde`) the
//! serde impls and the sink in a child process.

mod local;
#[cfg(feature = "serde")]
pub(crate) mod remote;
mod sink;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use self::local::{Channel, Local, Received};
use self::sink::Sink;

/// A reply channel: the [`Reply`] to put in a message, and the [`Replies`]
/// the host reads.
pub fn channel<R: Send + 'static>() -> (Reply<R>, Replies<R>) {
    let channel = Channel::new();
    let reply = Reply {
        sink: Arc::new(Local {
            channel: Arc::clone(&channel),
        }),
    };
    (reply, Replies { channel })
}

/// The sending end of a reply channel, carried inside a message. Cheap to
/// clone; several plugins may each answer, any number of times, from any
/// thread. Unbounded: a plugin never waits for the host to read.
pub struct Reply<R> {
    sink: Arc<dyn Sink<R>>,
}

impl<R> Reply<R> {
    /// Hands `value` to the host.
    ///
    /// `Ok` means it is on its way, not that the host read it: in a child
    /// process it is written to the host, which drops it if its
    /// [`Replies`] is gone.
    ///
    /// # Errors
    /// The value, back: the [`Replies`] is gone (in-process); or, in a
    /// child process, the value did not serialise, or its encoding is
    /// larger than the process host takes from a child (64 MiB less 8
    /// bytes), or the host could not be written to.
    pub fn send(&self, value: R) -> Result<(), SendError<R>> {
        self.sink.send(value).map_err(SendError)
    }

    /// A `Reply` of another sink than the channel's (a child process's).
    #[cfg(feature = "serde")]
    pub(crate) fn from_sink(sink: Arc<dyn Sink<R>>) -> Self {
        Self { sink }
    }
}

impl<R> Clone for Reply<R> {
    fn clone(&self) -> Self {
        Self {
            sink: Arc::clone(&self.sink),
        }
    }
}

impl<R> fmt::Debug for Reply<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply").finish_non_exhaustive()
    }
}

/// The receiving end of a reply channel, kept by the host. Dropping it
/// makes every later in-process [`Reply::send`] hand its value back.
pub struct Replies<R> {
    channel: Arc<Channel<R>>,
}

impl<R> Replies<R> {
    /// Waits for the next reply.
    ///
    /// # Errors
    /// [`RecvError`] once nothing is queued and every [`Reply`] is gone.
    pub fn recv(&self) -> Result<R, RecvError> {
        match self.channel.take(None) {
            Received::Value(value) => Ok(value),
            Received::Empty | Received::Closed => Err(RecvError),
        }
    }

    /// Waits at most `timeout` for the next reply.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when none came in time,
    /// [`RecvTimeoutError::Disconnected`] once nothing is queued and every
    /// [`Reply`] is gone.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<R, RecvTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => match self.channel.take(Some(deadline)) {
                Received::Value(value) => Ok(value),
                Received::Empty => Err(RecvTimeoutError::Timeout),
                Received::Closed => Err(RecvTimeoutError::Disconnected),
            },
            None => self.recv().map_err(|_| RecvTimeoutError::Disconnected),
        }
    }

    /// The next reply if one is queued; never waits.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when none is queued,
    /// [`TryRecvError::Disconnected`] once nothing is queued and every
    /// [`Reply`] is gone.
    pub fn try_recv(&self) -> Result<R, TryRecvError> {
        match self.channel.try_take(None) {
            Received::Value(value) => Ok(value),
            Received::Empty => Err(TryRecvError::Empty),
            Received::Closed => Err(TryRecvError::Disconnected),
        }
    }

    /// Waits for the next reply without blocking the thread: for a task,
    /// on any executor (the tokio host's included). Needs no runtime: the
    /// sender wakes the task itself.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn recv_async(&mut self) -> RecvAsync<'_, R> {
        RecvAsync {
            channel: &self.channel,
        }
    }
}

impl<R> Drop for Replies<R> {
    fn drop(&mut self) {
        self.channel.deafen();
    }
}

impl<R> fmt::Debug for Replies<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replies").finish_non_exhaustive()
    }
}

/// The future of [`Replies::recv_async`]: the next reply, or [`RecvError`]
/// once nothing is queued and every [`Reply`] is gone.
#[must_use = "a future does nothing unless awaited"]
pub struct RecvAsync<'a, R> {
    channel: &'a Channel<R>,
}

impl<R> Future for RecvAsync<'_, R> {
    type Output = Result<R, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.channel.try_take(Some(cx.waker())) {
            Received::Value(value) => Poll::Ready(Ok(value)),
            Received::Closed => Poll::Ready(Err(RecvError)),
            Received::Empty => Poll::Pending,
        }
    }
}

impl<R> fmt::Debug for RecvAsync<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvAsync").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;

    /// Counts its wakes.
    #[derive(Default)]
    struct Woken(AtomicUsize);

    impl Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiting_task_is_woken_by_an_answer_and_by_the_last_reply_going() {
        let (reply, mut replies) = channel::<u8>();
        let woken = Arc::new(Woken::default());
        let waker = Waker::from(Arc::clone(&woken));
        let mut cx = Context::from_waker(&waker);

        let mut future = replies.recv_async();
        assert!(Pin::new(&mut future).poll(&mut cx).is_pending());
        reply.send(7).unwrap();
        assert_eq!(woken.0.load(Ordering::SeqCst), 1);
        assert_eq!(Pin::new(&mut future).poll(&mut cx), Poll::Ready(Ok(7)));

        let mut future = replies.recv_async();
        assert!(Pin::new(&mut future).poll(&mut cx).is_pending());
        let copy = reply.clone();
        drop(reply);
        assert_eq!(woken.0.load(Ordering::SeqCst), 1, "a copy is left");
        drop(copy);
        assert_eq!(woken.0.load(Ordering::SeqCst), 2);
        assert_eq!(
            Pin::new(&mut future).poll(&mut cx),
            Poll::Ready(Err(RecvError))
        );
    }

    #[test]
    fn answers_queue_in_order_and_the_channel_reports_empty_then_closed() {
        let (reply, replies) = channel::<u8>();
        assert_eq!(replies.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(
            replies.recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Timeout)
        );
        let other = reply.clone();
        reply.send(1).unwrap();
        other.send(2).unwrap();
        drop((reply, other));
        assert_eq!(replies.recv(), Ok(1));
        assert_eq!(replies.recv_timeout(Duration::ZERO), Ok(2));
        assert_eq!(replies.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(
            replies.recv_timeout(Duration::from_secs(60)),
            Err(RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn an_answer_after_the_replies_are_gone_comes_back() {
        let (reply, replies) = channel::<String>();
        drop(replies);
        let error = reply.send("late".to_owned()).unwrap_err();
        assert_eq!(error.0, "late");
    }
}
