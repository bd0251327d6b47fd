//! One child process, seen from the host: [`Proxy`] starts it, hands it the
//! library to load, writes it the message frames it is given, and reads back
//! how each handler returned, keeping at most a window of messages
//! unacknowledged. It is the `Plugin` of one child on the process host's
//! inner std host, so queueing, send order and shutdown are that host's;
//! what the child did is kept in [`Shared`] for the exit. It decodes no
//! message and holds no `unsafe`.

use std::io::{self, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::child::{CHILD_VAR, is_unserved_child};
use super::error::AttachError;
use super::spawn::spawn;
use super::wire::{self, Hello};
use crate::exit::Ending;
use crate::message::Message;
use crate::plugin::Plugin;

/// What the host and a child's proxy share.
pub(crate) struct Shared {
    /// The child's process id.
    pub(crate) pid: u32,
    child: Mutex<Child>,
    /// Set by a host dropped without `end`: the child is killed, not drained.
    abandon: AtomicBool,
    /// Set when a shutdown's deadline passed with the child still running.
    stopped: AtomicBool,
    record: Mutex<Record>,
}

/// What a child reported, or how it died.
#[derive(Debug, Default, Clone)]
pub(crate) struct Record {
    /// Handlers that returned (`None`, `Some` or a panic).
    pub(crate) acked: u64,
    /// How the plugin ended; set when the proxy is dropped, at the latest.
    pub(crate) ending: Option<Ending>,
    /// The panic of the plugin's drop in the child.
    pub(crate) drop_panic: Option<String>,
}

impl Shared {
    fn record(&self) -> MutexGuard<'_, Record> {
        // Nothing panics while holding it.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the child reported, or how it died.
    pub(crate) fn report(&self) -> Record {
        self.record().clone()
    }

    /// Kills the child if it has not ended yet, because a shutdown's
    /// deadline passed: its exit then reads `Abandoned`.
    pub(crate) fn stop(&self) {
        let mut child = self.child();
        if matches!(child.try_wait(), Ok(None)) {
            self.stopped.store(true, Ordering::SeqCst);
            let _ = child.kill();
        }
    }

    /// Whether [`stop`](Self::stop) killed the child.
    pub(crate) fn was_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Kills the child at once (a host dropped without `end`): its proxy
    /// then finds the end of the stream, wherever it waits.
    pub(crate) fn abandon(&self) {
        self.abandon.store(true, Ordering::SeqCst);
        let _ = self.child().kill();
    }
}

/// The plugin that stands for one child on the inner host.
pub(crate) struct Proxy {
    name: String,
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    shared: Arc<Shared>,
    window: usize,
    in_flight: usize,
    deadline: Option<Duration>,
    /// The child still takes messages.
    open: bool,
    /// Nothing more comes from the child: its stream ended, or broke.
    done: bool,
    /// The child said `DONE`: it dropped the plugin and ends.
    reported: bool,
    /// The child has been waited for.
    finished: bool,
}

impl Proxy {
    /// Starts `program` in child mode, asks it to load the plugin, and
    /// waits for it to say the plugin is constructed.
    pub(crate) fn start(
        program: &Path,
        library: &Path,
        hello: &Hello,
        window: usize,
    ) -> Result<(Self, Arc<Shared>), AttachError> {
        let start_error = |error| AttachError::Start {
            program: program.to_owned(),
            error,
        };
        if is_unserved_child() {
            // A child whose `main` did not begin with `child_main` would
            // start children of its own, without end.
            return Err(AttachError::NoChild {
                program: program.to_owned(),
                reason: "this process is itself a plugin's child process, and its `main` attached plugins instead of calling `child_main` first".to_owned(),
            });
        }
        let (ours, theirs) = UnixStream::pair().map_err(start_error)?;
        let mut command = Command::new(program);
        command
            .env(CHILD_VAR, std::process::id().to_string())
            .stdin(Stdio::from(OwnedFd::from(theirs)));
        let child = spawn(command).map_err(start_error)?;
        let shared = Arc::new(Shared {
            pid: child.id(),
            child: Mutex::new(child),
            abandon: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            record: Mutex::new(Record::default()),
        });
        let reader = match ours.try_clone() {
            Ok(reading) => BufReader::new(reading),
            Err(error) => {
                shared.abandon();
                let _ = shared.child().wait();
                return Err(start_error(error));
            }
        };
        let mut proxy = Self {
            name: String::new(),
            writer: ours,
            reader,
            shared: Arc::clone(&shared),
            window,
            in_flight: 0,
            deadline: hello.deadline_ms.map(Duration::from_millis),
            open: false,
            done: false,
            reported: false,
            finished: false,
        };
        let _ = proxy
            .writer
            .write_all(&wire::frame(wire::HELLO, &wire::hello(hello)));
        let first = wire::read_frame(&mut proxy.reader, wire::MAX_FROM_CHILD);
        match first {
            Ok(Some((wire::READY, name))) => {
                proxy.name = String::from_utf8_lossy(&name).into_owned();
                proxy.open = true;
                Ok((proxy, shared))
            }
            Ok(Some((wire::REFUSED, reason))) => {
                proxy.finish();
                Err(AttachError::Refused {
                    library: library.to_owned(),
                    reason: String::from_utf8_lossy(&reason).into_owned(),
                })
            }
            other => {
                let said = match other {
                    Ok(Some((wire::UNDECODABLE, text))) => {
                        format!("it said: {}", String::from_utf8_lossy(&text))
                    }
                    Ok(Some((kind, _))) => {
                        let said = format!("it sent a frame of kind {kind} first");
                        proxy.broken(said.clone());
                        said
                    }
                    Ok(None) => "it closed its socket".to_owned(),
                    Err(error) => format!("reading from it failed: {error}"),
                };
                proxy.finish();
                let status = shared
                    .report()
                    .ending
                    .map_or_else(String::new, |ending| format!("; {}", describe(&ending)));
                Err(AttachError::NoChild {
                    program: program.to_owned(),
                    reason: format!("{said}{status}"),
                })
            }
        }
    }

    /// Reads one frame from the child and records it. Whether the child
    /// still takes messages.
    fn read_one(&mut self) -> bool {
        let frame = wire::read_frame(&mut self.reader, wire::MAX_FROM_CHILD);
        let mut record = self.shared.record();
        let text = |body: &[u8]| String::from_utf8_lossy(body).into_owned();
        match frame {
            Ok(Some((wire::HANDLED, body))) if body.is_empty() => {
                record.acked += 1;
                self.in_flight = self.in_flight.saturating_sub(1);
                return self.open;
            }
            Ok(Some((wire::DETACHED, body))) if body.len() == 1 => {
                record.acked += 1;
                record.ending.get_or_insert(Ending::Detached(body[0]));
            }
            Ok(Some((wire::PANICKED, body))) => {
                record.acked += 1;
                record.ending.get_or_insert(Ending::Panicked(text(&body)));
            }
            Ok(Some((wire::DEADLINE, body))) if body.is_empty() => {
                let deadline = self.deadline.unwrap_or_default();
                record.ending.get_or_insert(Ending::TimedOut(deadline));
            }
            Ok(Some((wire::UNDECODABLE, body))) => {
                record.ending.get_or_insert(Ending::Broken(format!(
                    "the child could not read what the host sent: {}",
                    text(&body)
                )));
            }
            Ok(Some((wire::DONE, body))) => match wire::read_done(&body) {
                Ok(drop_panic) => {
                    record.drop_panic = drop_panic;
                    self.reported = true;
                }
                Err(error) => {
                    drop(record);
                    self.broken(format!("its final report does not decode: {error}"));
                }
            },
            Ok(Some((kind, body))) => {
                drop(record);
                self.broken(format!(
                    "it sent a frame of kind {kind} with {} byte(s), which the host does not know there",
                    body.len()
                ));
            }
            Ok(None) => self.done = true,
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                drop(record);
                self.broken(format!("its bytes do not decode: {error}"));
            }
            // The child died: mid-frame, or with messages unread
            // (`ECONNRESET`). Its exit status says how.
            Err(_) => self.done = true,
        }
        self.open = false;
        false
    }

    /// The child sent what the protocol does not allow: kill it, and read
    /// nothing more from it.
    fn broken(&mut self, reason: String) {
        self.shared
            .record()
            .ending
            .get_or_insert(Ending::Broken(reason));
        let _ = self.shared.child().kill();
        let _ = io::copy(&mut self.reader, &mut io::sink());
        self.done = true;
    }

    /// Ends the child's run: tells it to end (or kills it, for a host
    /// dropped without `end`), reads what it reports until the end of its
    /// stream, waits for the process, and records how it ended.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.shared.abandon.load(Ordering::SeqCst) {
            let _ = self.shared.child().kill();
        } else if self.open {
            let _ = self.writer.write_all(&wire::frame(wire::END, &[]));
        }
        self.open = false;
        while !self.done {
            self.read_one();
        }
        let status = self.shared.child().wait();
        let mut record = self.shared.record();
        if record.ending.is_none() {
            record.ending = Some(match status {
                _ if self.reported => Ending::Finished,
                Ok(status) => died(status),
                Err(error) => Ending::Broken(format!("cannot wait for the child process: {error}")),
            });
        }
    }
}

/// How a child that did not report an ending died. A child that said `DONE`
/// finished; its exit is `Finished` and this is not asked.
fn died(status: ExitStatus) -> Ending {
    match (status.signal(), status.code()) {
        (Some(signal), _) => Ending::Killed(signal),
        (None, Some(code)) => Ending::Exited(code),
        (None, None) => Ending::Broken(format!("the child process ended: {status}")),
    }
}

fn describe(ending: &Ending) -> String {
    match ending {
        Ending::Killed(signal) => format!("its process was killed by signal {signal}"),
        Ending::Exited(code) => format!("its process exited with status {code}"),
        other => format!("{other:?}"),
    }
}

impl Plugin<Vec<u8>> for Proxy {
    fn handle_message(&mut self, frame: Message<Vec<u8>>) -> Option<u8> {
        while self.open && self.in_flight >= self.window {
            self.read_one();
        }
        if !self.open {
            return Some(0);
        }
        if self.writer.write_all(&frame).is_err() {
            // The child is gone: `finish` reads what it said last.
            self.open = false;
            return Some(0);
        }
        self.in_flight += 1;
        None
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The path the host starts as its children: its own executable, unless
/// given another.
pub(crate) fn own_executable() -> Result<PathBuf, io::Error> {
    std::env::current_exe()
}
