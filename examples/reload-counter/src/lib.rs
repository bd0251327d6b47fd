//! A counter whose count survives a reload: `save` hands it to the next
//! build, whose `restore` starts from it. Built with feature `double`, it
//! counts in steps of two: the new behaviour the reload example shows.

use reload_types::{CounterMessage, CounterReport};

/// What one tick adds in this build.
const STEP: u64 = if cfg!(feature = "double") { 2 } else { 1 };

/// Counts ticks.
#[derive(Default)]
pub struct Counter {
    count: u64,
}

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &CounterMessage) -> Option<u8> {
        match message {
            CounterMessage::Tick => self.count += STEP,
            CounterMessage::Report(reply) => {
                // The host may have stopped listening: nothing to do then.
                let _ = reply.send(CounterReport {
                    build: format!("step {STEP}"),
                    step: STEP,
                    count: self.count,
                });
            }
        }
        None
    }

    fn save(self) -> u64 {
        self.count
    }

    fn restore(count: u64) -> Self {
        Self { count }
    }
}
