//! What both hosts report: which plugin ([`PluginId`]), how it ended
//! ([`Exit`], [`Ending`]), what a send did ([`Delivery`]) and why it did
//! not ([`SendError`], [`TrySendError`]). Plain data and its wording, shared
//! by `host.rs`, `tokio.rs`, `roster.rs` and `worker.rs`; it imports none of
//! them.

use std::error::Error;
use std::fmt;

use crate::message::Message;

/// Identifies one attached plugin within its host, in attach order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PluginId(pub(crate) u64);

impl PluginId {
    /// The plugin's position in attach order, from 0.
    pub fn index(self) -> u64 {
        self.0
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin #{}", self.0)
    }
}

/// How a plugin ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The host closed its queue and the plugin handled every message in it.
    Finished,
    /// `handle_message` returned `Some(status)`.
    Detached(u8),
    /// `handle_message` panicked with this message.
    Panicked(String),
    /// The host stopped waiting for the plugin while it still ran: a
    /// shutdown's deadline passed (`end_timeout`, `end_by`, a cancelled
    /// tokio `end`) with a handler in progress, or the tokio runtime shut
    /// down and dropped its task. It handles no further message; a handler
    /// in progress finishes on its thread or task, where the plugin is then
    /// dropped, never while the handler runs. `handled` counts the calls
    /// made by then (the one in progress included); what was left queued is
    /// dropped without being counted. On the process host, whose
    /// `end_by` kills a child still running at the deadline, `handled`
    /// counts the handlers that returned and the rest is `unhandled`.
    Abandoned,
    /// The process host: the plugin's child process was killed by this
    /// signal (on Linux: a segfault is 11, an `abort` or a failed allocation 6, a
    /// stack overflow 11 or 6, a `kill -9` 9) before the plugin ended.
    Killed(i32),
    /// The process host: the plugin's child process exited with this
    /// status (`std::process::exit` in a plugin, say) before the plugin
    /// ended.
    Exited(i32),
    /// The process host: the plugin's child process broke the protocol (sent
    /// bytes that do not decode, or could not decode what the host sent), so
    /// the host killed it. The text says what was wrong.
    Broken(String),
    /// The process host: a handler ran past the plugin's deadline, this
    /// long, and its child process was ended with the handler still
    /// running. That message counts as unhandled.
    TimedOut(std::time::Duration),
}

/// The end of one plugin: which one, how it ended, and what it handled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exit {
    /// Which plugin.
    pub id: PluginId,
    /// Its [`name`](crate::Plugin::name).
    pub name: String,
    /// How it ended.
    pub ending: Ending,
    /// How many times `handle_message` was called, the last call included.
    pub handled: u64,
    /// Messages that reached its queue but were not handled because the
    /// plugin had ended (detached or panicked) first. Together with
    /// `handled`, every message delivered to the plugin is accounted for.
    pub unhandled: u64,
    /// The message of a panic while the plugin was being dropped, if any.
    pub drop_panic: Option<String>,
    /// How many messages this plugin's handler or worker dropped last whose
    /// value panicked in `Drop` (in a handler, or left unhandled at the
    /// end). Each panic was contained where it happened; a message type's
    /// bug, not the plugin's, so the plugin's `ending` stands.
    pub message_drop_panics: u64,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) ", self.id, self.name)?;
        match &self.ending {
            Ending::Finished => write!(f, "finished")?,
            Ending::Detached(status) => write!(f, "detached with status {status}")?,
            Ending::Panicked(message) => write!(f, "panicked: {message}")?,
            Ending::Abandoned => write!(f, "abandoned while running")?,
            Ending::Killed(signal) => match signal_name(*signal) {
                Some(name) => write!(f, "its process was killed by signal {signal} ({name})")?,
                None => write!(f, "its process was killed by signal {signal}")?,
            },
            Ending::Exited(status) => write!(f, "its process exited with status {status}")?,
            Ending::Broken(reason) => write!(f, "its process broke the protocol: {reason}")?,
            Ending::TimedOut(deadline) => {
                write!(
                    f,
                    "a handler ran past its deadline of {deadline:?} and its process was ended"
                )?;
            }
        }
        write!(f, " after {} message(s)", self.handled)?;
        if self.unhandled > 0 {
            write!(f, ", {} left unhandled", self.unhandled)?;
        }
        if let Some(message) = &self.drop_panic {
            write!(f, "; its drop panicked: {message}")?;
        }
        if self.message_drop_panics > 0 {
            write!(f, "; {} message drop(s) panicked", self.message_drop_panics)?;
        }
        Ok(())
    }
}

/// The usual name of a POSIX signal, for [`Ending::Killed`]'s wording.
fn signal_name(signal: i32) -> Option<&'static str> {
    // The numbers are Linux's; elsewhere the number alone is said.
    if !cfg!(target_os = "linux") {
        return None;
    }
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        _ => return None,
    })
}

/// What a successful send did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// How many plugins the message was queued for.
    pub delivered: usize,
    /// Plugins found to have ended since the previous send. They are no
    /// longer sent anything; their exits come from `end`.
    pub gone: Vec<PluginId>,
}

/// `send` found no plugin running: the message reached nobody and is handed
/// back.
pub struct SendError<T> {
    /// The message that was not delivered.
    pub message: Message<T>,
    /// Plugins found to have ended during this send (the others ended
    /// earlier and were reported then).
    pub gone: Vec<PluginId>,
}

/// Why `try_send` did not deliver a message. Either way it was queued for no
/// plugin, so trying again cannot deliver it twice.
pub enum TrySendError<T> {
    /// At least one running plugin's queue is full.
    Full {
        /// The message that was not delivered.
        message: Message<T>,
        /// The plugins whose queues are full.
        full: Vec<PluginId>,
        /// Plugins found to have ended.
        gone: Vec<PluginId>,
    },
    /// No plugin is running.
    NoPlugins(SendError<T>),
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no plugin is running: the message reached nobody (call `end` to read the plugins' exits)")
    }
}

impl<T> Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { full, gone, .. } => f
                .debug_struct("Full")
                .field("full", full)
                .field("gone", gone)
                .finish_non_exhaustive(),
            Self::NoPlugins(error) => f.debug_tuple("NoPlugins").field(error).finish(),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { full, .. } => write!(
                f,
                "the queue of {} plugin(s) is full: the message was queued for none (retry, or `send` to wait)",
                full.len()
            ),
            Self::NoPlugins(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> TrySendError<T> {
    /// The message that was not delivered.
    pub fn into_message(self) -> Message<T> {
        match self {
            Self::Full { message, .. } => message,
            Self::NoPlugins(error) => error.message,
        }
    }
}
