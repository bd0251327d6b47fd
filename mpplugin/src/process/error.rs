//! What the process host refuses, and why: a message or argument that does
//! not serialise ([`EncodeError`], inside [`SendError`] and
//! [`TrySendError`]), a plugin that cannot be started ([`AttachError`]).
//! Plain data and its wording; it starts nothing.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::message::Message;

/// Why a value could not be turned into bytes for a child.
#[derive(Debug)]
#[non_exhaustive]
pub enum EncodeError {
    /// postcard's error. A `Serialize` impl that refuses with
    /// `serde::ser::Error::custom(text)` reads as `SerdeSerCustom`: postcard
    /// keeps no text of a custom error.
    Postcard(postcard::Error),
    /// The encoding is this many bytes, more than a frame holds (4 GiB).
    TooLarge(usize),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postcard(postcard::Error::SerdeSerCustom) => f.write_str(
                "its `Serialize` impl refused it (postcard: custom serialisation error)",
            ),
            Self::Postcard(error) => write!(f, "postcard cannot serialise it: {error}"),
            Self::TooLarge(length) => write!(
                f,
                "it serialises to {length} bytes, more than the 4 GiB one frame holds"
            ),
        }
    }
}

impl Error for EncodeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Postcard(error) => Some(error),
            Self::TooLarge(_) => None,
        }
    }
}

/// Why [`Host::send`](super::Host::send) delivered a message to no plugin.
/// Either way it reached none, and it is handed back.
#[non_exhaustive]
pub enum SendError<T> {
    /// The message does not serialise.
    Encode {
        /// The message, untouched.
        message: Message<T>,
        /// The serialiser's error.
        error: EncodeError,
    },
    /// No plugin is running.
    NoPlugins(crate::SendError<T>),
}

/// Why [`Host::try_send`](super::Host::try_send) delivered a message to no
/// plugin. Either way it reached none, and it is handed back.
#[non_exhaustive]
pub enum TrySendError<T> {
    /// The message does not serialise.
    Encode {
        /// The message, untouched.
        message: Message<T>,
        /// The serialiser's error.
        error: EncodeError,
    },
    /// A queue is full, or no plugin is running, as for the other hosts.
    Host(crate::TrySendError<T>),
}

impl<T> SendError<T> {
    /// The message that was not delivered.
    pub fn into_message(self) -> Message<T> {
        match self {
            Self::Encode { message, .. } => message,
            Self::NoPlugins(error) => error.message,
        }
    }
}

impl<T> TrySendError<T> {
    /// The message that was not delivered.
    pub fn into_message(self) -> Message<T> {
        match self {
            Self::Encode { message, .. } => message,
            Self::Host(error) => error.into_message(),
        }
    }
}

/// `Encode`'s `Debug`, the same in both send errors.
fn debug_encode(f: &mut fmt::Formatter<'_>, error: &impl fmt::Debug) -> fmt::Result {
    f.debug_struct("Encode")
        .field("error", error)
        .finish_non_exhaustive()
}

/// `Encode`'s sentence, the same in both send errors.
fn display_encode(f: &mut fmt::Formatter<'_>, error: &impl fmt::Display) -> fmt::Result {
    write!(
        f,
        "the message reached no plugin: {error} (a process host sends what serde can serialise)"
    )
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode { error, .. } => debug_encode(f, error),
            Self::NoPlugins(error) => f.debug_tuple("NoPlugins").field(error).finish(),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode { error, .. } => display_encode(f, error),
            Self::NoPlugins(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<T> Error for SendError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Encode { error, .. } => Some(error),
            Self::NoPlugins(_) => None,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode { error, .. } => debug_encode(f, error),
            Self::Host(error) => f.debug_tuple("Host").field(error).finish(),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode { error, .. } => display_encode(f, error),
            Self::Host(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<T> Error for TrySendError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Encode { error, .. } => Some(error),
            Self::Host(_) => None,
        }
    }
}

/// Why a plugin could not be attached to a process host. Nothing was
/// attached, and no child is left running.
#[derive(Debug)]
#[non_exhaustive]
pub enum AttachError {
    /// The child program could not be started.
    Start {
        /// The program the host starts as its children.
        program: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// The constructor's argument does not serialise.
    Argument(EncodeError),
    /// The child started but refused the library: the loader's refusal
    /// ([`LoadError`](crate::LoadError)'s text), or a child whose `main`
    /// reads another message or argument type.
    Refused {
        /// The library asked for.
        library: PathBuf,
        /// The child's words.
        reason: String,
    },
    /// The child did not report its plugin constructed within the attach
    /// timeout ([`Options::attach_timeout`](super::Options::attach_timeout)):
    /// a constructor that does not return, or a very slow start. The child
    /// was killed.
    TimedOut {
        /// The library asked for.
        library: PathBuf,
        /// How long the host waited.
        timeout: std::time::Duration,
    },
    /// The child ended, or spoke something other than the protocol, before
    /// reporting its plugin ready.
    NoChild {
        /// The program the host starts as its children.
        program: PathBuf,
        /// What happened.
        reason: String,
    },
}

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Start { program, error } => write!(
                f,
                "cannot start the plugin's child process `{}`: {error} (a process host starts its own executable, or the program given to `Host::with_program`)",
                program.display()
            ),
            Self::Argument(error) => write!(f, "the constructor's argument cannot cross: {error}"),
            Self::Refused { library, reason } => write!(
                f,
                "the child process refused to load `{}`: {reason}",
                library.display()
            ),
            Self::TimedOut { library, timeout } => write!(
                f,
                "the plugin of `{}` was not constructed within {timeout:?}: its constructor did not return (the child process was killed; give a slow constructor a longer `Options::attach_timeout`)",
                library.display()
            ),
            Self::NoChild { program, reason } => write!(
                f,
                "the child process `{}` did not start a plugin: {reason} (its `main` must begin with `mpplugin::process::child_main::<Message>()`)",
                program.display()
            ),
        }
    }
}

impl Error for AttachError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Start { error, .. } => Some(error),
            Self::Argument(error) => Some(error),
            Self::Refused { .. } | Self::TimedOut { .. } | Self::NoChild { .. } => None,
        }
    }
}
