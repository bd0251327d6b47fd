//! Starting a child program, always from one thread that lives as long as
//! the process. On Linux a child asks to be killed when its parent dies
//! (`PR_SET_PDEATHSIG`), and "its parent" is the thread that forked it: a
//! child started from a thread that later ends (a short-lived thread that
//! attached a plugin and returned) would be killed with it. From this
//! thread, the signal comes only when the process itself is gone. Nothing
//! else lives here: no protocol, no plugin.

use std::io;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Sender};
use std::thread;

type Request = (Command, Sender<io::Result<Child>>);

/// Starts `command` on the spawning thread and returns the child. The
/// command, with whatever file descriptors it holds for the child, is
/// dropped there right after the start: the host keeps no copy of the
/// child's end of its socket, so the child's exit reads as end of stream.
pub(crate) fn spawn(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Option<Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("mpplugin spawner".to_owned())
            .spawn(move || {
                for (mut command, reply) in incoming {
                    let started = command.spawn();
                    drop(command);
                    let _ = reply.send(started);
                }
            })
            .ok()
            .map(|_| requests)
    });
    let gone = || io::Error::other("mpplugin's spawning thread could not be started");
    let spawner = spawner.as_ref().ok_or_else(gone)?;
    let (reply, started) = mpsc::channel();
    spawner.send((command, reply)).map_err(|_| gone())?;
    started.recv().map_err(|_| gone())?
}
