//! The process host: each plugin in a child process of its own, so that a
//! plugin that crashes (a segfault, an `abort`, a stack overflow, running
//! out of memory, `exit`) ends itself and nothing else. Feature `process`,
//! unix only.
//!
//! The same plugin crate runs on any host: [`Host`] here takes the
//! library's path, and the child loads it with every check of the loader.
//!
//! # The child is this program
//!
//! A process with threads must not `fork` without `exec`, so a child is a
//! new program image: by default the host's own executable, started in child
//! mode, so that it has the message type's deserialiser. Its `main` must
//! begin with one line, which returns at once in the host and never returns
//! in a child:
//!
//! ```no_run
//! #[derive(serde::Serialize, serde::Deserialize, mpplugin::Shape)]
//! # struct Command;
//! # fn plugin_path() -> &'static str { "" }
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     mpplugin::process::child_main::<Command>();
//!
//!     let mut host = mpplugin::process::Host::<Command>::new();
//!     host.attach(plugin_path())?;
//!     host.send(Command)?;
//!     for exit in host.end() {
//!         println!("{exit}");
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Plugins constructed with an argument need the argument's type there too:
//! [`ChildMain::argument`]. Another program can be the child
//! ([`Host::with_program`]) if its `main` begins the same way with the same
//! types. The host passes the child its socket on standard input and marks
//! it with the variable `MPPLUGIN_PROCESS_CHILD`; the child moves the socket
//! off standard input at once, so that a plugin reads `/dev/null` there.
//!
//! # What crosses
//!
//! A message is serialised once per [`send`](Host::send) with serde in
//! postcard's format, and the same bytes are written to every child. It
//! must be `Serialize` in the host, and `Deserialize` and
//! [`Shape`](crate::Shape) (what the loader compares) in the child; a
//! message that does not serialise is handed back by `send` with the error,
//! and reaches no plugin. The child deserialises its own copy: a channel
//! sender inside a message cannot cross a process, but an
//! [`mpplugin::reply::Reply`](crate::reply::Reply) can. Serialised here it
//! leaves an id and keeps the host's `Reply` in a registry; the child's copy
//! sends each answer back over its socket, where a thread that reads that
//! child decodes it into the host's [`Replies`](crate::reply::Replies) (an
//! answer that does not decode, or whose decoding panics, ends that child,
//! [`Ending::Broken`]). When
//! the child's last copy is gone, or the child ends in any way, it lets go
//! of the id, so `Replies` closes and a host waiting on it never hangs. Nor
//! does the message itself cross a thread in the host (only its bytes do),
//! so the host asks nothing of it beyond `Serialize`: not even `Send`.
//!
//! # Guarantees
//!
//! As the other hosts': every message a send accepts reaches every plugin
//! running at that moment, in send order, without waiting for a later send;
//! `send` reports plugins that have gone; [`end`](Host::end) lets each
//! child handle what it was sent and returns every exit. Each child has a
//! bounded queue in the host ([`DEFAULT_CAPACITY`] messages, or the
//! [`Options`]'), written to the child by a thread of its own, and at most
//! [`Options::window`] messages written to the child but not yet handled:
//! a full queue makes `send` wait, and [`try_send`](Host::try_send) never
//! waits.
//!
//! A child that dies is an [`Exit`] that says how
//! ([`Ending::Killed`] with the signal,
//! [`Ending::Exited`] with the status), while every
//! other plugin and the host go on. Its `handled` counts the handlers that
//! returned; `unhandled` every other message that reached its queue,
//! including the one it died in. Text a child sends (a panic message, a
//! refusal, its plugin's name) longer than the host reads in one frame,
//! 64 MiB, arrives cut at a char boundary, with a marker saying so: a
//! panic with a huge message is still [`Ending::Panicked`], with its start.
//!
//! Children never outlive the host: on Linux each asks the kernel to kill
//! it when the host dies (`PR_SET_PDEATHSIG`, requested from a thread that
//! lives as long as the host's process), and every child also ends when its
//! socket reaches end of stream without an `end`. A host dropped without
//! `end` kills its children.
//!
//! # Where it lives
//!
//! `mod.rs` the host; `proxy.rs` one child seen from the host (start,
//! window, the thread that reads it, exit); `registry.rs` the `Reply`s sent
//! to the children; `child.rs` the child's side; `spawn.rs` the thread that
//! starts children; `wire.rs` the frames; `error.rs` the refusals.

mod child;
mod error;
mod proxy;
mod registry;
mod spawn;
mod wire;

use std::any::type_name;
use std::marker::PhantomData;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use child::{ChildMain, child_main};
pub use error::{AttachError, EncodeError, SendError, TrySendError};

use self::proxy::{Proxy, Shared};
use self::registry::Registry;
use self::wire::Hello;
use crate::exit::{Delivery, Ending, Exit, PluginId};
use crate::message::Message;
use crate::reply::remote::serialising;
use crate::roster::DEFAULT_CAPACITY;

/// How a plugin runs in its child process: queue sizes, and the limits no
/// in-process host can offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    capacity: usize,
    window: usize,
    deadline: Option<Duration>,
    memory_limit: Option<u64>,
    attach_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            window: Self::DEFAULT_WINDOW,
            deadline: None,
            memory_limit: None,
            attach_timeout: Self::DEFAULT_ATTACH_TIMEOUT,
        }
    }
}

impl Options {
    /// The window a child gets unless told otherwise.
    pub const DEFAULT_WINDOW: usize = 64;

    /// How long attach waits for a child's plugin unless told otherwise:
    /// a minute, far more than opening, checking and constructing takes.
    pub const DEFAULT_ATTACH_TIMEOUT: Duration = Duration::from_secs(60);

    /// The defaults: a queue of [`DEFAULT_CAPACITY`] messages, a window of
    /// [`DEFAULT_WINDOW`](Self::DEFAULT_WINDOW), no deadline, no memory
    /// limit, an attach timeout of
    /// [`DEFAULT_ATTACH_TIMEOUT`](Self::DEFAULT_ATTACH_TIMEOUT).
    pub fn new() -> Self {
        Self::default()
    }

    /// The child's queue in the host holds at most `capacity` messages.
    ///
    /// # Panics
    /// If `capacity` is 0.
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        assert!(capacity > 0, "mpplugin: a queue holds at least one message");
        self.capacity = capacity;
        self
    }

    /// At most `window` messages are written to the child and not yet
    /// handled; with the queue, what one child holds back is bounded.
    ///
    /// # Panics
    /// If `window` is 0.
    #[must_use]
    pub fn window(mut self, window: usize) -> Self {
        assert!(window > 0, "mpplugin: a window holds at least one message");
        self.window = window;
        self
    }

    /// A handler that runs longer than `deadline` ends its child process,
    /// with [`Ending::TimedOut`]. Measured in the
    /// child, in milliseconds (rounded up).
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Limits the child's address space to `bytes` (`RLIMIT_AS`, set before
    /// the library is opened): a plugin that allocates past it fails the
    /// allocation, which aborts its child
    /// ([`Ending::Killed`] with `SIGABRT`). The
    /// limit counts the whole program mapped, so it needs room for the
    /// executable, the library and each thread's stack.
    #[must_use]
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Attach (and replace) waits at most `timeout` for the child to open
    /// the library and construct its plugin; past it the child is killed
    /// and attach returns [`AttachError::TimedOut`]. Unlike a thread, a
    /// constructor that never returns can be stopped.
    #[must_use]
    pub fn attach_timeout(mut self, timeout: Duration) -> Self {
        self.attach_timeout = timeout;
        self
    }
}

/// A host that runs each plugin in a child process: see the
/// [module's docs](self).
///
/// Dropping a host without [`end`](Host::end) kills its children and
/// discards what they were not yet sent.
pub struct Host<T> {
    inner: crate::Host<Vec<u8>>,
    /// The child of each plugin id, the latest one.
    children: Vec<Arc<Shared>>,
    /// Children replaced, which may still be draining: kept to be stopped
    /// by `end_by` or killed by a drop, and let go of once ended (each
    /// one's exit is in its [`Replaced`]), so that a host that replaces
    /// often holds only those still running.
    retired: Vec<Arc<Shared>>,
    /// The `Reply`s sent to the children.
    registry: Arc<Registry>,
    program: Result<PathBuf, String>,
    message: PhantomData<fn(T)>,
}

impl<T: Serialize> Default for Host<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Serialize> Host<T> {
    /// A host whose children are this program's own executable: its `main`
    /// must begin with [`child_main::<T>()`](child_main).
    pub fn new() -> Self {
        let program = proxy::own_executable().map_err(|error| {
            format!(
                "cannot find this program's own executable to start as a plugin's child: {error}"
            )
        });
        Self {
            inner: crate::Host::new(),
            children: Vec::new(),
            retired: Vec::new(),
            registry: Arc::default(),
            program,
            message: PhantomData,
        }
    }

    /// A host whose children are `program`, whose `main` must begin with
    /// [`child_main::<T>()`](child_main) (or [`ChildMain`] with the
    /// argument types used).
    pub fn with_program(program: impl Into<PathBuf>) -> Self {
        let mut host = Self::new();
        host.program = Ok(program.into());
        host
    }

    /// Starts a child that loads the plugin library at `library` (with every
    /// check of the loader) and constructs its plugin without argument.
    /// Returns once the child says its plugin is constructed, or after
    /// [`Options::attach_timeout`] with the child killed.
    ///
    /// # Errors
    /// [`AttachError`]: the child could not start, or refused the library
    /// (the loader's refusal, in its words), or its plugin was not
    /// constructed in time.
    pub fn attach(&mut self, library: impl AsRef<Path>) -> Result<PluginId, AttachError> {
        self.attach_options(library, &Options::default())
    }

    /// [`attach`](Host::attach), constructing the plugin with `argument`,
    /// serialised. The child's `main` must know `A`:
    /// [`ChildMain::argument`].
    ///
    /// # Errors
    /// As [`attach`](Host::attach); [`AttachError::Argument`] when the
    /// argument does not serialise.
    pub fn attach_with<A: Serialize + 'static>(
        &mut self,
        library: impl AsRef<Path>,
        argument: &A,
    ) -> Result<PluginId, AttachError> {
        self.attach_with_options(library, argument, &Options::default())
    }

    /// [`attach`](Host::attach) with [`Options`].
    ///
    /// # Errors
    /// As [`attach`](Host::attach).
    pub fn attach_options(
        &mut self,
        library: impl AsRef<Path>,
        options: &Options,
    ) -> Result<PluginId, AttachError> {
        self.start(library.as_ref(), None, None, options)
    }

    /// [`attach`](Host::attach) for the plugin of type `name` in a library
    /// that declares several (as
    /// [`PluginLibrary::instantiate_named`](crate::PluginLibrary::instantiate_named)).
    ///
    /// # Errors
    /// As [`attach`](Host::attach).
    pub fn attach_named(
        &mut self,
        library: impl AsRef<Path>,
        name: &str,
    ) -> Result<PluginId, AttachError> {
        self.start(library.as_ref(), Some(name), None, &Options::default())
    }

    /// [`attach_with`](Host::attach_with) for the plugin of type `name` in
    /// a library that declares several.
    ///
    /// # Errors
    /// As [`attach_with`](Host::attach_with).
    pub fn attach_named_with<A: Serialize + 'static>(
        &mut self,
        library: impl AsRef<Path>,
        name: &str,
        argument: &A,
    ) -> Result<PluginId, AttachError> {
        let argument = encode_argument(argument)?;
        self.start(library.as_ref(), Some(name), argument, &Options::default())
    }

    /// [`attach_with`](Host::attach_with) with [`Options`].
    ///
    /// # Errors
    /// As [`attach_with`](Host::attach_with).
    pub fn attach_with_options<A: Serialize + 'static>(
        &mut self,
        library: impl AsRef<Path>,
        argument: &A,
        options: &Options,
    ) -> Result<PluginId, AttachError> {
        let argument = encode_argument(argument)?;
        self.start(library.as_ref(), None, argument, options)
    }

    fn start(
        &mut self,
        library: &Path,
        plugin: Option<&str>,
        argument: Option<(&str, Vec<u8>)>,
        options: &Options,
    ) -> Result<PluginId, AttachError> {
        let (proxy, shared) = self.child(library, plugin, argument, options)?;
        let id = self.inner.attach_with_capacity(proxy, options.capacity);
        self.children.push(shared);
        Ok(id)
    }

    /// Starts a child that loads `library`, and returns its proxy.
    fn child(
        &self,
        library: &Path,
        plugin: Option<&str>,
        argument: Option<(&str, Vec<u8>)>,
        options: &Options,
    ) -> Result<(Proxy, Arc<Shared>), AttachError> {
        let program = match &self.program {
            Ok(program) => program.clone(),
            Err(reason) => {
                return Err(AttachError::NoChild {
                    program: PathBuf::new(),
                    reason: reason.clone(),
                });
            }
        };
        let deadline_ms = options.deadline.map(|deadline| {
            u64::try_from(deadline.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
        });
        let hello = Hello {
            message_type: type_name::<T>().to_owned(),
            argument: argument.map(|(name, bytes)| (name.to_owned(), bytes)),
            library: library.as_os_str().as_bytes().to_vec(),
            plugin: plugin.map(str::to_owned),
            deadline_ms,
            memory_limit: options.memory_limit,
        };
        Proxy::start(
            &program,
            library,
            &hello,
            options.window,
            &self.registry,
            options.attach_timeout,
        )
    }

    /// Replaces plugin `id` with a new child that loads `library` (a
    /// rebuilt file at the same path is a new library there: each child
    /// opens it afresh), constructed without argument. It keeps the id:
    /// every message sent before this call reaches the old child, every
    /// message sent after it the new one. The new child starts (and loads
    /// its plugin) before this returns; the old one handles what it was
    /// sent, is told to end, and its exit arrives through the
    /// [`Replaced`] returned. A child that had died is replaced too.
    ///
    /// # Errors
    /// As [`attach`](Host::attach): the new child did not start, and plugin
    /// `id` goes on as it was.
    ///
    /// # Panics
    /// If this host has no plugin `id`.
    pub fn replace(
        &mut self,
        id: PluginId,
        library: impl AsRef<Path>,
    ) -> Result<Replaced, AttachError> {
        self.replace_options(id, library, &Options::default())
    }

    /// [`replace`](Host::replace), constructing the new plugin with
    /// `argument`, serialised.
    ///
    /// # Errors
    /// As [`attach_with`](Host::attach_with).
    ///
    /// # Panics
    /// If this host has no plugin `id`.
    pub fn replace_with<A: Serialize + 'static>(
        &mut self,
        id: PluginId,
        library: impl AsRef<Path>,
        argument: &A,
    ) -> Result<Replaced, AttachError> {
        let argument = encode_argument(argument)?;
        self.swap(id, library.as_ref(), argument, &Options::default())
    }

    /// [`replace`](Host::replace) with [`Options`] for the new child. The
    /// queue in the host stays the old one's, whatever the options'
    /// capacity.
    ///
    /// # Errors
    /// As [`attach`](Host::attach).
    ///
    /// # Panics
    /// If this host has no plugin `id`.
    pub fn replace_options(
        &mut self,
        id: PluginId,
        library: impl AsRef<Path>,
        options: &Options,
    ) -> Result<Replaced, AttachError> {
        self.swap(id, library.as_ref(), None, options)
    }

    fn swap(
        &mut self,
        id: PluginId,
        library: &Path,
        argument: Option<(&str, Vec<u8>)>,
        options: &Options,
    ) -> Result<Replaced, AttachError> {
        let index = usize::try_from(id.index())
            .ok()
            .filter(|index| *index < self.children.len())
            .unwrap_or_else(|| panic!("mpplugin: this process host has no {id}"));
        let (proxy, shared) = self.child(library, None, argument, options)?;
        let replaced = self.inner.replace(id, proxy);
        let old = std::mem::replace(&mut self.children[index], shared);
        // Nothing sent from now on reaches the old child.
        self.registry.leave(old.serial);
        self.retired.retain(|child| !child.has_ended());
        self.retired.push(Arc::clone(&old));
        Ok(Replaced {
            inner: replaced,
            child: old,
        })
    }

    /// Serialises the message once and queues the bytes for every running
    /// plugin, waiting while a queue is full. Each plugin receives it after
    /// everything sent before, and without waiting for a later send.
    ///
    /// # Errors
    /// [`SendError::Encode`] with the message and the serialiser's error
    /// when it does not serialise (it reached no plugin);
    /// [`SendError::NoPlugins`] when no plugin is running.
    pub fn send(&mut self, message: impl Into<Message<T>>) -> Result<Delivery, SendError<T>> {
        let message = message.into();
        let (frame, replies) = serialising(|| wire::message_frame(&*message));
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => return Err(SendError::Encode { message, error }),
        };
        let replies = self.registry.sent(replies);
        self.inner.send(frame).map_err(|error| {
            self.registry.unsent(&replies);
            SendError::NoPlugins(crate::SendError {
                message,
                gone: error.gone,
            })
        })
    }

    /// Serialises the message and queues it for every running plugin if
    /// every queue has room, and for none otherwise. Never waits.
    ///
    /// # Errors
    /// [`TrySendError::Encode`] when the message does not serialise;
    /// [`TrySendError::Host`] when a queue is full or no plugin runs.
    pub fn try_send(
        &mut self,
        message: impl Into<Message<T>>,
    ) -> Result<Delivery, TrySendError<T>> {
        let message = message.into();
        let (frame, replies) = serialising(|| wire::message_frame(&*message));
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => return Err(TrySendError::Encode { message, error }),
        };
        let replies = self.registry.sent(replies);
        self.inner.try_send(frame).map_err(|error| {
            self.registry.unsent(&replies);
            TrySendError::Host(match error {
                crate::TrySendError::Full { full, gone, .. } => crate::TrySendError::Full {
                    message,
                    full,
                    gone,
                },
                crate::TrySendError::NoPlugins(error) => {
                    crate::TrySendError::NoPlugins(crate::SendError {
                        message,
                        gone: error.gone,
                    })
                }
            })
        })
    }

    /// How many plugins are attached, running or not.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether no plugin was ever attached.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The process id of a plugin's child (it may have ended since).
    pub fn pid(&self, id: PluginId) -> Option<u32> {
        let index = usize::try_from(id.index()).ok()?;
        Some(self.children.get(index)?.pid)
    }

    /// How many replaced children this host still holds (those not yet
    /// seen ended at the latest replace). For tests of this crate only.
    #[doc(hidden)]
    pub fn __retired_children(&self) -> usize {
        self.retired.len()
    }

    /// Tells every child that no message follows, lets each handle what it
    /// was sent and drop its plugin, and returns one exit per attached
    /// plugin, in attach order. A handler that never returns makes this
    /// wait for it: give such plugins a [deadline](Options::deadline).
    pub fn end(mut self) -> Vec<Exit> {
        let exits = std::mem::take(&mut self.inner).end();
        self.retired.clear();
        let children = std::mem::take(&mut self.children);
        exits
            .into_iter()
            .zip(children)
            .map(|(exit, child)| exit_of(exit, &child))
            .collect()
    }

    /// [`end`](Host::end), waiting at most `timeout`: see
    /// [`end_by`](Host::end_by).
    pub fn end_timeout(self, timeout: Duration) -> Vec<Exit> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.end_by(deadline),
            None => self.end(),
        }
    }

    /// [`end`](Host::end), until `deadline` at most. Every plugin that ends
    /// by then reports its exit as `end` would; the child of one still
    /// running then (a handler that never returns, or a long queue) is
    /// killed, and its exit reads [`Ending::Abandoned`]
    /// with what it handled. So is a replaced child still draining, whose
    /// exit arrives through its [`Replaced`]. Unlike a thread, a child process can be
    /// stopped: nothing of it runs after this returns. One exit per
    /// attached plugin, in attach order.
    pub fn end_by(self, deadline: Instant) -> Vec<Exit> {
        // Replaced children too: one that has not drained holds up its
        // successor, and `end` with it.
        let children: Vec<Arc<Shared>> =
            self.children.iter().chain(&self.retired).cloned().collect();
        let (ended, finished) = mpsc::channel::<()>();
        let stopper = thread::Builder::new()
            .name("mpplugin end_by".to_owned())
            .spawn(move || {
                let left = deadline.saturating_duration_since(Instant::now());
                if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(left) {
                    for child in &children {
                        child.stop();
                    }
                }
            });
        let exits = self.end();
        drop(ended);
        if let Ok(stopper) = stopper {
            let _ = stopper.join();
        }
        exits
    }
}

/// A constructor's argument as the child reads it: its type's name and its
/// encoding.
fn encode_argument<A: Serialize + 'static>(
    argument: &A,
) -> Result<Option<(&'static str, Vec<u8>)>, AttachError> {
    let bytes = postcard::to_allocvec(argument)
        .map_err(|error| AttachError::Argument(EncodeError::Postcard(error)))?;
    Ok(Some((type_name::<A>(), bytes)))
}

/// The exit of a child's proxy on the inner host, told as the child's.
fn exit_of(exit: Exit, child: &Shared) -> Exit {
    let report = child.report();
    let delivered = exit.handled + exit.unhandled;
    let ending = match report.ending {
        Some(Ending::Killed(_)) if child.was_stopped() => Ending::Abandoned,
        Some(ending) => ending,
        None => exit.ending,
    };
    Exit {
        ending,
        handled: report.acked,
        unhandled: delivered.saturating_sub(report.acked),
        drop_panic: report.drop_panic,
        ..exit
    }
}

impl<T> Drop for Host<T> {
    fn drop(&mut self) {
        for child in self.children.iter().chain(&self.retired) {
            child.abandon();
        }
    }
}

/// What [`Host::replace`] returns: the handle through which the replaced
/// child's [`Exit`] arrives, told as the other exits are (its ending, the
/// handlers that returned, the rest unhandled). See
/// [`crate::Replaced`] for when the swap takes place.
pub struct Replaced {
    inner: crate::Replaced,
    child: Arc<Shared>,
}

impl Replaced {
    /// The plugin replaced: the id the new child's plugin keeps.
    pub fn id(&self) -> PluginId {
        self.inner.id()
    }

    /// The old child's exit if the swap has taken place; never waits.
    pub fn try_exit(&self) -> Option<Exit> {
        Some(exit_of(self.inner.try_exit()?, &self.child))
    }

    /// Blocks the thread until the old child has handled what it was sent
    /// and ended, and returns its exit.
    pub fn wait(self) -> Exit {
        exit_of(self.inner.wait(), &self.child)
    }
}
