//! What the reload example's host sends its counter plugin. Host and both
//! builds of the plugin depend on this one crate; the loader compares the
//! type's shape with each build's.

use std::sync::mpsc::SyncSender;

/// A message to the counter.
#[derive(Debug, Clone, mpplugin::Shape)]
pub enum CounterMessage {
    /// Count one tick, by the build's step.
    Tick,
    /// Reply with the count.
    Report(SyncSender<CounterReport>),
}

/// What the counter says about itself.
#[derive(Debug, Clone, PartialEq, Eq, mpplugin::Shape)]
pub struct CounterReport {
    /// Which build answers.
    pub build: String,
    /// What one tick adds.
    pub step: u64,
    /// The count so far, carried over reloads.
    pub count: u64,
}
