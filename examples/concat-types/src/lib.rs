//! What the demo host sends its plugins. Host and plugins depend on this one
//! crate, so that they agree on the type; the loader checks that they do,
//! field by field: both types derive `mpplugin::Shape`.

use std::sync::mpsc::SyncSender;
use std::time::Instant;

/// A command to every plugin.
#[derive(Debug, Clone, mpplugin::Shape)]
pub enum ConcatCommand {
    /// Append this text.
    Concat(String),
    /// Forget the text.
    Clear,
    /// A timestamp taken just before the send: plugins measure the delay.
    Time(Instant),
    /// Reply with a report. Plugins talk back through a channel that the
    /// host puts in a message: `handle_message` itself returns only whether
    /// to detach.
    Report(SyncSender<Report>),
    /// Detach with status 0.
    Exit,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, mpplugin::Shape)]
pub struct Report {
    /// Which plugin.
    pub plugin: &'static str,
    /// What it has to say.
    pub text: String,
}
