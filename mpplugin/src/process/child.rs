//! The child's side of the process host: [`child_main`] and [`ChildMain`],
//! which a program's `main` calls first. In child mode (the host sets
//! [`CHILD_VAR`]) it loads the library with every check of the loader,
//! runs the plugin on the messages that arrive on its socket, reports each
//! handler's outcome and the answers through `Reply`s in its messages, and
//! ends the process; otherwise it returns at once. It
//! never starts a process, and holds the process host's `unsafe`: the
//! parent-death signal, the memory limit, moving the socket off standard
//! input, and the deadline's `_exit`.

use std::any::type_name;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::wire::{self, Hello};
use crate::load::{LoadedPlugin, PluginLibrary};
use crate::message::Message;
use crate::plugin::{Handled, Plugin};
use crate::reply::{self, remote::Link};
use crate::shape::Shape;

/// The variable that puts a program in child mode; its value is the
/// parent's process id.
pub(crate) const CHILD_VAR: &str = "MPPLUGIN_PROCESS_CHILD";

/// The status of a child whose parent was gone before it could start.
const EXIT_ORPHAN: i32 = 70;
/// The status of a child that could not speak to its parent.
const EXIT_BROKEN: i32 = 71;
/// The status of a child whose handler ran past its deadline.
const EXIT_DEADLINE: i32 = 72;

/// Runs this program as a plugin's child process if the process host
/// started it so, and returns at once otherwise. A program that hosts
/// plugins in processes calls it first thing in `main`, with the host's
/// message type:
///
/// ```no_run
/// fn main() {
///     mpplugin::process::child_main::<u64>();
///     // the host program proper
/// }
/// ```
///
/// In child mode it never returns: the process exits when the plugin ends.
/// For plugins constructed with an argument, see [`ChildMain::argument`].
// The examples show `main` because where the line goes is their point.
#[allow(clippy::needless_doctest_main)]
pub fn child_main<T: DeserializeOwned + Shape + Send + Sync>() {
    ChildMain::<T>::new().run();
}

type Instantiate<T> = fn(&PluginLibrary, Option<&str>, &[u8]) -> Result<LoadedPlugin<T>, String>;

/// [`child_main`] with the argument types the host's plugins are
/// constructed with: the child must know a type to decode it and to have
/// the loader check it.
///
/// ```no_run
/// fn main() {
///     mpplugin::process::ChildMain::<u64>::new()
///         .argument::<Vec<String>>()
///         .run();
///     // the host program proper
/// }
/// ```
#[allow(clippy::needless_doctest_main)]
pub struct ChildMain<T: 'static> {
    arguments: Vec<(&'static str, Instantiate<T>)>,
}

impl<T: DeserializeOwned + Shape + Send + Sync> Default for ChildMain<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DeserializeOwned + Shape + Send + Sync> ChildMain<T> {
    /// A child that constructs plugins without argument.
    pub fn new() -> Self {
        Self {
            arguments: Vec::new(),
        }
    }

    /// Also constructs plugins with an argument of type `A`, attached with
    /// [`Host::attach_with`](super::Host::attach_with).
    #[must_use]
    pub fn argument<A: DeserializeOwned + Shape>(mut self) -> Self {
        self.arguments
            .push((type_name::<A>(), instantiate_with::<T, A>));
        self
    }

    /// Runs the child if this process is one, and returns at once otherwise.
    ///
    /// Child mode is the variable `MPPLUGIN_PROCESS_CHILD` set *and* a
    /// socket on standard input. A program that a plugin starts inherits the
    /// variable but not the socket (the child put `/dev/null` there), so an
    /// mpplugin host among them is no child.
    pub fn run(self) {
        let Some(parent) = child_mode() else {
            return;
        };
        let status = match parent {
            Some(parent) => self.serve(parent),
            None => {
                eprintln!("mpplugin: {CHILD_VAR} does not hold a process id");
                EXIT_BROKEN
            }
        };
        std::process::exit(status);
    }

    fn serve(self, parent: u32) -> i32 {
        if !watch_parent(parent) {
            return EXIT_ORPHAN;
        }
        let Ok(socket) = take_socket() else {
            eprintln!("mpplugin: a plugin's child process without its socket on standard input");
            return EXIT_BROKEN;
        };
        let (Ok(reading), Ok(writing)) = (socket.try_clone(), socket.try_clone()) else {
            return EXIT_BROKEN;
        };
        // Open until the process is gone, whatever is dropped before: the
        // host reads the end of this stream as "the child has exited" and
        // only then waits for it, so that it never blocks in `wait` on a
        // child still running exit handlers (it could not kill it then).
        std::mem::forget(socket);
        let mut reader = BufReader::new(reading);
        let writer = Arc::new(Mutex::new(BufWriter::new(writing)));
        let send = |kind: u8, body: &[u8]| -> bool {
            let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
            writer.write_all(&wire::frame(kind, body)).is_ok()
        };
        let flush = || {
            let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
            writer.flush().is_ok()
        };

        let hello = match wire::read_frame(&mut reader, u32::MAX) {
            Ok(Some((wire::HELLO, body))) => match wire::read_hello(&body) {
                Ok(hello) => hello,
                Err(error) => {
                    send(
                        wire::UNDECODABLE,
                        format!("the host's hello: {error}").as_bytes(),
                    );
                    flush();
                    return EXIT_BROKEN;
                }
            },
            _ => return EXIT_BROKEN,
        };
        let mut plugin = match self.load(&hello) {
            Ok(plugin) => plugin,
            Err(reason) => {
                send(wire::REFUSED, wire::text(&reason).as_bytes());
                flush();
                return 0;
            }
        };
        if !send(wire::READY, wire::text(plugin.name()).as_bytes()) || !flush() {
            return EXIT_BROKEN;
        }

        let answers: Arc<dyn Link> = Arc::new(Answers {
            writer: Arc::clone(&writer),
        });
        let watchdog = hello
            .deadline_ms
            .map(|ms| Watchdog::start(Duration::from_millis(ms), Arc::clone(&writer)));
        loop {
            // Every acknowledgement leaves before the next handler runs: a
            // handler that crashes the process must not take the host's
            // count of those before it along.
            if !flush() {
                return EXIT_BROKEN;
            }
            let body = match wire::read_frame(&mut reader, u32::MAX) {
                Ok(Some((wire::MESSAGE, body))) => body,
                Ok(Some((wire::END, _))) => break,
                // The host is gone, or dropped us without `end`: nothing
                // may run on.
                Ok(None) | Err(_) => return 0,
                Ok(Some((kind, _))) => {
                    send(
                        wire::UNDECODABLE,
                        format!("a frame of unknown kind {kind}").as_bytes(),
                    );
                    flush();
                    return EXIT_BROKEN;
                }
            };
            let decoded =
                reply::remote::deserialising(&answers, || postcard::from_bytes::<T>(&body));
            let message = match decoded {
                Ok(message) => message,
                Err(error) => {
                    let reason = format!(
                        "a message does not decode as `{}`: {error} (host and child built from different message types?)",
                        type_name::<T>()
                    );
                    send(wire::UNDECODABLE, wire::text(&reason).as_bytes());
                    flush();
                    return EXIT_BROKEN;
                }
            };
            if let Some(watchdog) = &watchdog {
                watchdog.arm();
            }
            let handled = plugin.__mpplugin_handle(Message::new(message));
            if let Some(watchdog) = &watchdog {
                watchdog.disarm();
            }
            let sent = match handled {
                Handled::Continue => send(wire::HANDLED, &[]),
                Handled::Detach(status) => {
                    send(wire::DETACHED, &[status]);
                    break;
                }
                Handled::Panicked(text) => {
                    send(wire::PANICKED, wire::text(&text).as_bytes());
                    break;
                }
            };
            if !sent {
                return EXIT_BROKEN;
            }
        }
        let drop_panic = Box::new(plugin).__mpplugin_drop();
        send(wire::DONE, &wire::done(drop_panic.as_deref()));
        flush();
        0
    }

    /// Opens and constructs the plugin, with every check of the loader.
    fn load(&self, hello: &Hello) -> Result<LoadedPlugin<T>, String> {
        if hello.message_type != type_name::<T>() {
            return Err(format!(
                "the host sends `{}` but this program's `child_main` reads `{}` (call `child_main` with the host's message type)",
                hello.message_type,
                type_name::<T>()
            ));
        }
        if let Some(limit) = hello.memory_limit {
            limit_memory(limit)?;
        }
        let path = Path::new(std::ffi::OsStr::from_bytes(&hello.library));
        // SAFETY: the host asked for this library by path, and trusts it as
        // an in-process host would (see `PluginLibrary::open`); what goes
        // wrong in it ends this child, not the host.
        let library = unsafe { PluginLibrary::open(path) }.map_err(|error| error.to_string())?;
        let named = hello.plugin.as_deref();
        match &hello.argument {
            None => match named {
                Some(name) => library.instantiate_named::<T>(name),
                None => library.instantiate::<T>(),
            }
            .map_err(|error| error.to_string()),
            Some((name, bytes)) => {
                let Some((_, instantiate)) = self.arguments.iter().find(|(known, _)| known == name)
                else {
                    let known: Vec<&str> = self.arguments.iter().map(|(known, _)| *known).collect();
                    return Err(format!(
                        "the host sends a constructor argument of type `{name}`, which this program's `ChildMain` does not read (it reads {known:?}; add `.argument::<{name}>()`)"
                    ));
                };
                instantiate(&library, named, bytes)
            }
        }
    }
}

/// Whether this process was started as a plugin's child: `Some` with the
/// parent's id the variable holds (`None` inside if it holds none).
fn child_mode() -> Option<Option<u32>> {
    let parent = std::env::var_os(CHILD_VAR)?;
    let stdin = File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    if !stdin.metadata().ok()?.file_type().is_socket() {
        return None;
    }
    Some(parent.to_str().and_then(|parent| parent.parse().ok()))
}

/// Whether this process is a plugin's child whose `main` did not call
/// [`child_main`] first: it must not start children of its own, which
/// would do the same without end.
pub(crate) fn is_unserved_child() -> bool {
    child_mode().flatten() == Some(std::os::unix::process::parent_id())
}

fn instantiate_with<T: Shape + Send + Sync, A: DeserializeOwned + Shape>(
    library: &PluginLibrary,
    named: Option<&str>,
    bytes: &[u8],
) -> Result<LoadedPlugin<T>, String> {
    let argument: A = postcard::from_bytes(bytes).map_err(|error| {
        format!(
            "the constructor's argument does not decode as `{}`: {error}",
            type_name::<A>()
        )
    })?;
    match named {
        Some(name) => library.instantiate_named_with::<T, A>(name, &argument),
        None => library.instantiate_with::<T, A>(&argument),
    }
    .map_err(|error| error.to_string())
}

/// Asks to be killed with the parent, and says whether the parent is still
/// the one that started us (it may have died before the request).
fn watch_parent(parent: u32) -> bool {
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_PDEATHSIG, sig)` takes a signal number and reads
    // no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    }
    std::os::unix::process::parent_id() == parent
}

/// Takes the socket the host put on standard input, and puts `/dev/null`
/// there instead: a plugin that reads standard input, or starts a program
/// that inherits it, must not see (or keep open) the host's socket.
fn take_socket() -> io::Result<UnixStream> {
    let socket = UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    let null = File::open("/dev/null")?;
    // SAFETY: both are open descriptors; `dup2` replaces descriptor 0
    // atomically, and `io::stdin` reads whatever file descriptor 0 is. The
    // socket lives on in its own (close-on-exec) descriptor.
    if unsafe { libc::dup2(null.as_raw_fd(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

/// Limits this process's address space, so that a plugin that allocates
/// without bound fails its allocation (and aborts) in its own process.
fn limit_memory(bytes: u64) -> Result<(), String> {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: `setrlimit` reads the `rlimit` we pass, which lives across
    // the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0 {
        return Err(format!(
            "cannot limit the child's memory to {bytes} bytes: {}",
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The way back for the `Reply`s this child deserialised: frames written
/// under the writer's lock (a plugin may answer from a thread of its own)
/// and flushed at once, so that a host waiting for an answer gets it while
/// the handler still runs.
struct Answers {
    writer: Arc<Mutex<BufWriter<UnixStream>>>,
}

impl Answers {
    fn write(&self, frame: &[u8]) -> bool {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.write_all(frame).is_ok() && writer.flush().is_ok()
    }
}

impl Link for Answers {
    fn largest_answer(&self) -> usize {
        wire::MAX_ANSWER
    }

    fn reply(&self, id: u64, bytes: &[u8]) -> bool {
        self.write(&wire::reply(id, bytes))
    }

    fn release(&self, id: u64) {
        self.write(&wire::release(id));
    }
}

/// Ends the child when a handler runs past the deadline, after telling the
/// host (with the acknowledgements still buffered before it).
struct Watchdog {
    state: Arc<(Mutex<Option<Instant>>, Condvar)>,
}

impl Watchdog {
    fn start(deadline: Duration, writer: Arc<Mutex<BufWriter<UnixStream>>>) -> Self {
        let state = Arc::new((Mutex::new(None::<Instant>), Condvar::new()));
        let watched = Arc::clone(&state);
        thread::Builder::new()
            .name("mpplugin deadline".to_owned())
            .spawn(move || {
                let (started, changed) = &*watched;
                let mut started = started.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    let Some(since) = *started else {
                        started = changed
                            .wait(started)
                            .unwrap_or_else(PoisonError::into_inner);
                        continue;
                    };
                    let left = deadline.saturating_sub(since.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    started = changed
                        .wait_timeout(started, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = writer.write_all(&wire::frame(wire::DEADLINE, &[]));
                let _ = writer.flush();
                // SAFETY: `_exit` has no preconditions; it ends the process
                // at once, with the handler still running on its thread, and
                // runs no destructor or exit handler (which could wait on
                // whatever the handler holds).
                unsafe { libc::_exit(EXIT_DEADLINE) }
            })
            .expect("mpplugin: cannot start a child's deadline thread");
        Self { state }
    }

    fn arm(&self) {
        *self.state.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        self.state.1.notify_one();
    }

    fn disarm(&self) {
        *self.state.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.state.1.notify_one();
    }
}
