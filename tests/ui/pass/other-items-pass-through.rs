#![deny(missing_docs, dead_code)]
//! Other items in the block keep their attributes and docs and stay callable.

use mpplugin::{Message, Plugin};

/// Sums what it is sent.
#[derive(Default)]
pub struct Summer {
    sum: u64,
}

#[mpplugin::plugin]
impl Summer {
    /// The sum past which the plugin detaches.
    pub const LIMIT: u64 = 10;

    /// The sum so far.
    #[must_use]
    pub fn sum(&self) -> u64 {
        self.sum
    }

    #[inline]
    fn add(&mut self, value: u64) {
        self.sum += value;
    }

    /// Adds the message to the sum.
    fn handle_message(&mut self, message: &u64) -> Option<u8> {
        self.add(*message);
        (self.sum > Self::LIMIT).then_some(3)
    }
}

fn main() {
    let mut plugin = Summer::default();
    assert_eq!(Plugin::handle_message(&mut plugin, Message::new(6)), None);
    assert_eq!(plugin.sum(), 6);
    assert_eq!(
        Plugin::handle_message(&mut plugin, Message::new(6)),
        Some(3)
    );
    assert_eq!(Summer::LIMIT, 10);
}
