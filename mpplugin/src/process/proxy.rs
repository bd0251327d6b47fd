//! One child process, seen from the host: [`Proxy`] starts it, hands it the
//! library to load, and writes it the message frames it is given, keeping
//! at most a window of messages unacknowledged; its reader thread reads
//! back how each handler returned and the answers through `Reply`s (handed
//! to the host's [`Registry`]), as they come. The proxy is the `Plugin` of
//! one child on the process host's inner std host, so queueing, send order
//! and shutdown are that host's; what the child did is kept in [`Shared`]
//! for the exit. It decodes no message and holds no `unsafe`.

use std::io::{self, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::child::{CHILD_VAR, is_unserved_child};
use super::error::AttachError;
use super::registry::Registry;
use super::spawn::spawn;
use super::wire::{self, Hello};
use crate::exit::Ending;
use crate::message::Message;
use crate::plugin::Plugin;

/// What the host and a child's proxy share.
pub(crate) struct Shared {
    /// The child's process id.
    pub(crate) pid: u32,
    /// The child's serial in the host's [`Registry`].
    pub(crate) serial: u64,
    child: Mutex<Child>,
    /// Set by a host dropped without `end`: the child is killed, not drained.
    abandon: AtomicBool,
    /// Set when a shutdown's deadline passed with the child still running.
    stopped: AtomicBool,
    /// Set once the child has been waited for and its ending recorded:
    /// nothing is left to stop, and its exit is in `record`.
    ended: AtomicBool,
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

    /// Whether the child has been waited for and its ending recorded: the
    /// host need not keep it to stop or kill it any more.
    pub(crate) fn has_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Whether [`stop`](Self::stop) killed the child.
    pub(crate) fn was_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// The child sent what the protocol does not allow: its exit says so,
    /// and it is killed.
    fn broken(&self, reason: String) {
        self.record().ending.get_or_insert(Ending::Broken(reason));
        let _ = self.child().kill();
    }

    /// Kills the child at once (a host dropped without `end`): its proxy
    /// then finds the end of the stream, wherever it waits.
    pub(crate) fn abandon(&self) {
        self.abandon.store(true, Ordering::SeqCst);
        let _ = self.child().kill();
    }
}

/// The plugin that stands for one child on the inner host: it writes the
/// frames; its [`Reader`], on a thread of its own, reads what the child
/// says, whenever it says it.
pub(crate) struct Proxy {
    name: String,
    writer: UnixStream,
    flow: Arc<Flow>,
    shared: Arc<Shared>,
    window: usize,
    reader: Option<JoinHandle<()>>,
    /// The child has been waited for.
    finished: bool,
}

/// What the proxy and its reader share: the window, and whether the child
/// still takes messages.
#[derive(Default)]
struct Flow {
    state: Mutex<FlowState>,
    changed: Condvar,
}

#[derive(Default)]
struct FlowState {
    /// Written to the child and not yet handled.
    in_flight: usize,
    /// The child still takes messages.
    open: bool,
    /// The child said `DONE`: it dropped the plugin and ends.
    reported: bool,
}

impl Flow {
    fn state(&self) -> MutexGuard<'_, FlowState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn close(&self) {
        self.state().open = false;
        self.changed.notify_all();
    }
}

/// Why a child did not start its plugin.
enum Failure {
    Attach(AttachError),
    /// What the child did instead, for [`AttachError::NoChild`].
    Said(String),
}

/// Reads everything one child sends, until the end of its stream: the
/// handlers' outcomes, its answers through `Reply`s, its final report.
struct Reader {
    reader: BufReader<UnixStream>,
    flow: Arc<Flow>,
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    deadline: Option<Duration>,
}

impl Proxy {
    /// Starts `program` in child mode, asks it to load the plugin, and
    /// waits for it to say the plugin is constructed, at most `timeout`.
    pub(crate) fn start(
        program: &Path,
        library: &Path,
        hello: &Hello,
        window: usize,
        registry: &Arc<Registry>,
        timeout: Duration,
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
            serial: registry.serial(),
            child: Mutex::new(child),
            abandon: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            record: Mutex::new(Record::default()),
        });
        let reading = ours
            .try_clone()
            .and_then(|reading| reading.set_read_timeout(Some(timeout)).map(|()| reading));
        let mut reader = match reading {
            Ok(reading) => BufReader::new(reading),
            Err(error) => {
                shared.abandon();
                let _ = shared.child().wait();
                return Err(start_error(error));
            }
        };
        let mut writer = ours;
        let _ = writer.write_all(&wire::frame(wire::HELLO, &wire::hello(hello)));
        let first = wire::read_frame(&mut reader, wire::MAX_FROM_CHILD);
        let _ = reader.get_ref().set_read_timeout(None);
        let flow = Arc::new(Flow::default());
        let mut name = String::new();
        let failure = match first {
            Ok(Some((wire::READY, said))) => {
                name = String::from_utf8_lossy(&said).into_owned();
                flow.state().open = true;
                // Before its reader runs: a child that dies at once must be
                // a receiver by the time the reader says it ended, or it
                // would stay one, and hold every `Reply` sent after.
                registry.join(shared.serial);
                None
            }
            Ok(Some((wire::REFUSED, reason))) => Some(Failure::Attach(AttachError::Refused {
                library: library.to_owned(),
                reason: String::from_utf8_lossy(&reason).into_owned(),
            })),
            Ok(Some((wire::UNDECODABLE, text))) => Some(Failure::Said(format!(
                "it said: {}",
                String::from_utf8_lossy(&text)
            ))),
            Ok(Some((kind, _))) => {
                let said = format!("it sent a frame of kind {kind} first");
                shared.broken(said.clone());
                Some(Failure::Said(said))
            }
            Ok(None) => Some(Failure::Said("it closed its socket".to_owned())),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                // The constructor runs on in the child: kill it.
                shared.abandon();
                let _ = shared.child().wait();
                return Err(AttachError::TimedOut {
                    library: library.to_owned(),
                    timeout,
                });
            }
            Err(error) => Some(Failure::Said(format!("reading from it failed: {error}"))),
        };
        let thread = Reader {
            reader,
            flow: Arc::clone(&flow),
            shared: Arc::clone(&shared),
            registry: Arc::clone(registry),
            deadline: hello.deadline_ms.map(Duration::from_millis),
        }
        .spawn();
        let mut proxy = Self {
            name,
            writer,
            flow,
            shared: Arc::clone(&shared),
            window,
            reader: Some(thread),
            finished: false,
        };
        let Some(failure) = failure else {
            return Ok((proxy, shared));
        };
        proxy.finish();
        Err(match failure {
            Failure::Attach(error) => error,
            Failure::Said(said) => {
                let status = shared
                    .report()
                    .ending
                    .map_or_else(String::new, |ending| format!("; {}", describe(&ending)));
                AttachError::NoChild {
                    program: program.to_owned(),
                    reason: format!("{said}{status}"),
                }
            }
        })
    }

    /// Ends the child's run: tells it to end (or kills it, for a host
    /// dropped without `end`), lets the reader read what it reports until
    /// the end of its stream, waits for the process, and records how it
    /// ended.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let open = std::mem::replace(&mut self.flow.state().open, false);
        if self.shared.abandon.load(Ordering::SeqCst) {
            let _ = self.shared.child().kill();
        } else if open {
            let _ = self.writer.write_all(&wire::frame(wire::END, &[]));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let status = self.shared.child().wait();
        let reported = self.flow.state().reported;
        let mut record = self.shared.record();
        if record.ending.is_none() {
            record.ending = Some(match status {
                _ if reported => Ending::Finished,
                Ok(status) => died(status),
                Err(error) => Ending::Broken(format!("cannot wait for the child process: {error}")),
            });
        }
        drop(record);
        self.shared.ended.store(true, Ordering::SeqCst);
    }
}

impl Reader {
    fn spawn(self) -> JoinHandle<()> {
        thread::Builder::new()
            .name("mpplugin child reader".to_owned())
            .spawn(move || self.run())
            .expect("mpplugin: cannot start the thread that reads a plugin's child process")
    }

    fn run(mut self) {
        let _ended = Ended {
            flow: Arc::clone(&self.flow),
            shared: Arc::clone(&self.shared),
            registry: Arc::clone(&self.registry),
        };
        while self.read_one() {}
    }

    /// Reads one frame from the child and records it. Whether more may
    /// come.
    fn read_one(&mut self) -> bool {
        let frame = wire::read_frame(&mut self.reader, wire::MAX_FROM_CHILD);
        let text = |body: &[u8]| String::from_utf8_lossy(body).into_owned();
        let ending = match frame {
            Ok(Some((wire::HANDLED, body))) if body.is_empty() => {
                self.shared.record().acked += 1;
                let mut flow = self.flow.state();
                flow.in_flight = flow.in_flight.saturating_sub(1);
                drop(flow);
                self.flow.changed.notify_all();
                return true;
            }
            Ok(Some((wire::REPLY, body))) => {
                let delivered = match wire::read_reply(&body) {
                    Some((id, answer)) => self.registry.deliver(self.shared.serial, id, answer),
                    None => Err(format!(
                        "a reply frame of {} byte(s), without an id",
                        body.len()
                    )),
                };
                return self.unless_broken(delivered);
            }
            Ok(Some((wire::RELEASE, body))) => {
                let released = match wire::read_release(&body) {
                    Some(id) => self.registry.release(self.shared.serial, id),
                    None => Err(format!("a release frame of {} byte(s)", body.len())),
                };
                return self.unless_broken(released);
            }
            Ok(Some((wire::DETACHED, body))) if body.len() == 1 => {
                let mut record = self.shared.record();
                record.acked += 1;
                Ending::Detached(body[0])
            }
            Ok(Some((wire::PANICKED, body))) => {
                self.shared.record().acked += 1;
                Ending::Panicked(text(&body))
            }
            Ok(Some((wire::DEADLINE, body))) if body.is_empty() => {
                Ending::TimedOut(self.deadline.unwrap_or_default())
            }
            Ok(Some((wire::UNDECODABLE, body))) => Ending::Broken(format!(
                "the child could not read what the host sent: {}",
                text(&body)
            )),
            Ok(Some((wire::DONE, body))) => {
                match wire::read_done(&body) {
                    Ok(drop_panic) => {
                        self.shared.record().drop_panic = drop_panic;
                        self.flow.state().reported = true;
                        self.flow.close();
                        return true;
                    }
                    Err(error) => {
                        self.broken(format!("its final report does not decode: {error}"));
                    }
                }
                return false;
            }
            Ok(Some((kind, body))) => {
                self.broken(format!(
                    "it sent a frame of kind {kind} with {} byte(s), which the host does not know there",
                    body.len()
                ));
                return false;
            }
            // The end of the stream: the child exited, or died mid-frame,
            // or with messages unread (`ECONNRESET`). Its exit status says
            // how.
            Ok(None) => return false,
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                self.broken(format!("its bytes do not decode: {error}"));
                return false;
            }
            Err(_) => return false,
        };
        self.shared.record().ending.get_or_insert(ending);
        self.flow.close();
        true
    }

    /// Whether to read on after `result`: an error breaks the child.
    fn unless_broken(&mut self, result: Result<(), String>) -> bool {
        match result {
            Ok(()) => true,
            Err(reason) => {
                self.broken(reason);
                false
            }
        }
    }

    /// The child sent what the protocol does not allow: kill it, and read
    /// nothing more from it.
    fn broken(&mut self, reason: String) {
        self.shared.broken(reason);
        self.flow.close();
        let _ = io::copy(&mut self.reader, &mut io::sink());
    }
}

/// Ends the child's part in the host when its reader's thread ends, however
/// it ends: a panic on that thread (it runs the user's code, an answer's
/// decoding among it) must not leave the child holding every `Reply` sent
/// later, nor the proxy waiting on a window that no one acknowledges.
struct Ended {
    flow: Arc<Flow>,
    shared: Arc<Shared>,
    registry: Arc<Registry>,
}

impl Drop for Ended {
    fn drop(&mut self) {
        if thread::panicking() {
            // No one reads the child any more: it must not wait for ever.
            self.shared
                .broken("the host's thread that reads it panicked".to_owned());
        }
        // First: `ended` drops the last clones of `Reply`s, which runs
        // wakers.
        self.flow.close();
        // Whatever it held, it answers no more.
        self.registry.ended(self.shared.serial);
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
        let mut flow = self.flow.state();
        while flow.open && flow.in_flight >= self.window {
            flow = self
                .flow
                .changed
                .wait(flow)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if !flow.open {
            return Some(0);
        }
        flow.in_flight += 1;
        drop(flow);
        if self.writer.write_all(&frame).is_err() {
            // The child is gone: its reader reads what it said last.
            self.flow.close();
            return Some(0);
        }
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
