//! The debug plugin: tallies the commands it sees. Built from `Default`: it
//! takes no argument.

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
                    plugin: "debug",
                    text,
                });
            }
            ConcatCommand::Exit => return Some(0),
        }
        None
    }
}
