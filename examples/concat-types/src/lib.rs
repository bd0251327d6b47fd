//! What the demo host sends its plugins. Host and plugins depend on this one
//! crate, so that they agree on the type; the loader checks that they do,
//! field by field: both types derive `mpplugin::Shape`. Both derive serde's
//! traits too, so that the same plugins run in child processes
//! (`mpplugin::process::Host`): every field crosses a process, the reply
//! channel included.

use std::time::SystemTime;

use mpplugin::reply::Reply;
use serde::{Deserialize, Serialize};

/// A command to every plugin.
#[derive(Debug, Clone, Serialize, Deserialize, mpplugin::Shape)]
pub enum ConcatCommand {
    /// Append this text.
    Concat(String),
    /// Forget the text.
    Clear,
    /// The wall-clock time just before the send: plugins measure the delay.
    /// (`SystemTime`, not `Instant`: it means the same in another process.)
    Time(SystemTime),
    /// Reply with a report. Plugins talk back through a channel that the
    /// host puts in a message (`handle_message` itself returns only whether
    /// to detach): an `mpplugin::reply::Reply`, which every host carries,
    /// the process host across processes.
    Report(Reply<Report>),
    /// Detach with status 0.
    Exit,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, mpplugin::Shape)]
pub struct Report {
    /// Which plugin.
    pub plugin: String,
    /// What it has to say.
    pub text: String,
}
