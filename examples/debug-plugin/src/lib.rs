//! The demo's debug plugins, two in one library: `Debug` tallies the
//! commands it sees, `Kinds` counts them by kind and lists the kinds it has
//! seen. Both are built by `new()`: they take no argument. A host picks
//! one with `PluginLibrary::instantiate_named`.

use std::collections::BTreeMap;

use concat_types::{ConcatCommand, Report};

/// How many commands of each kind arrived.
#[derive(Default)]
pub struct Debug {
    concat: u64,
    clear: u64,
    time: u64,
    report: u64,
}

#[mpplugin::plugin]
impl Debug {
    /// Says that it started: an ordinary `tracing` event, which mpplugin
    /// carries to the host's subscriber.
    pub fn new() -> Self {
        tracing::info!(plugin = "debug", "starting");
        Self::default()
    }

    fn handle_message(&mut self, command: &ConcatCommand) -> Option<u8> {
        match command {
            ConcatCommand::Concat(_) => self.concat += 1,
            ConcatCommand::Clear => self.clear += 1,
            ConcatCommand::Time(_) => self.time += 1,
            ConcatCommand::Report(reply) => {
                self.report += 1;
                let text = format!(
                    "{} concat, {} clear, {} time, {} report",
                    self.concat, self.clear, self.time, self.report
                );
                let _ = reply.send(Report {
                    plugin: "debug".to_owned(),
                    text,
                });
            }
            ConcatCommand::Exit => return Some(0),
        }
        None
    }
}

/// The kinds of command that arrived, each with its count, most frequent
/// first.
#[derive(Default)]
pub struct Kinds {
    seen: BTreeMap<&'static str, u64>,
}

#[mpplugin::plugin]
impl Kinds {
    /// Says that it started, inside a span.
    pub fn new() -> Self {
        let span = tracing::info_span!("kinds");
        let _entered = span.enter();
        tracing::info!(plugin = "kinds", "starting");
        Self::default()
    }

    fn handle_message(&mut self, command: &ConcatCommand) -> Option<u8> {
        let kind = match command {
            ConcatCommand::Concat(_) => "concat",
            ConcatCommand::Clear => "clear",
            ConcatCommand::Time(_) => "time",
            ConcatCommand::Report(_) => "report",
            ConcatCommand::Exit => "exit",
        };
        *self.seen.entry(kind).or_default() += 1;
        match command {
            ConcatCommand::Report(reply) => {
                let mut seen: Vec<_> = self.seen.iter().collect();
                seen.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let counts: Vec<String> = seen
                    .iter()
                    .map(|(kind, count)| format!("{count} {kind}"))
                    .collect();
                let text = format!("{} kinds: {}", seen.len(), counts.join(", "));
                let _ = reply.send(Report {
                    plugin: "kinds".to_owned(),
                    text,
                });
                None
            }
            ConcatCommand::Exit => Some(0),
            _ => None,
        }
    }
}
