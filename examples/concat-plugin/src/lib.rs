//! The concat plugin: appends the text it is sent after the words it was
//! constructed with, and measures how long timestamps took to reach it.

use std::time::Duration;

use concat_types::{ConcatCommand, Report};

/// The plugin's state: no lock needed, it handles one message at a time.
pub struct Concat {
    prefix: String,
    text: String,
    delays: Duration,
    timestamps: u32,
}

#[mpplugin::plugin]
impl Concat {
    /// Built from the host's argument: the words to start with.
    pub fn new(words: &Vec<String>) -> Result<Self, String> {
        if words.is_empty() {
            return Err("give at least one word to start with".to_owned());
        }
        // An ordinary `log` macro: mpplugin carries the record to the host.
        log::info!("concat: starting with the words {words:?}");
        Ok(Self {
            prefix: words.join(" "),
            text: String::new(),
            delays: Duration::ZERO,
            timestamps: 0,
        })
    }

    fn handle_message(&mut self, command: &ConcatCommand) -> Option<u8> {
        match command {
            ConcatCommand::Concat(text) => self.text.push_str(text),
            ConcatCommand::Clear => self.text.clear(),
            ConcatCommand::Time(sent) => {
                // A clock set back meanwhile reads as no delay.
                self.delays += sent.elapsed().unwrap_or_default();
                self.timestamps += 1;
            }
            ConcatCommand::Report(reply) => {
                let mean = self.delays.checked_div(self.timestamps).unwrap_or_default();
                let text = format!(
                    "\"{}: {}\" after {} timestamps, mean delay {mean:?}",
                    self.prefix, self.text, self.timestamps
                );
                // The host may have stopped listening; that is its business.
                let _ = reply.send(Report {
                    plugin: "concat".to_owned(),
                    text,
                });
            }
            ConcatCommand::Exit => return Some(0),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpplugin::{Message, Plugin};

    #[test]
    fn appends_after_its_words_and_reports() {
        let mut plugin = Concat::new(&vec!["Hi".to_owned(), "There".to_owned()]).unwrap();
        for text in ["Hello", ", ", "World"] {
            Plugin::handle_message(
                &mut plugin,
                Message::new(ConcatCommand::Concat(text.to_owned())),
            );
        }
        let (reply, report) = mpplugin::reply::channel();
        assert_eq!(
            Plugin::handle_message(&mut plugin, Message::new(ConcatCommand::Report(reply))),
            None
        );
        let report = report.recv().unwrap();
        assert_eq!(report.plugin, "concat");
        assert!(
            report
                .text
                .starts_with("\"Hi There: Hello, World\" after 0 timestamps"),
            "{}",
            report.text
        );
        assert_eq!(
            Plugin::handle_message(&mut plugin, Message::new(ConcatCommand::Exit)),
            Some(0)
        );
    }
}
