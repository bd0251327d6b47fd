//! A plugin whose count survives a reload: `save` and `restore`.

use mpplugin::{Message, Plugin};

#[derive(Default)]
struct Counter(u64);

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &u64) -> Option<u8> {
        self.0 += message;
        None
    }

    fn save(self) -> u64 {
        self.0
    }

    fn restore(count: u64) -> Self {
        Counter(count)
    }
}

fn main() {
    let mut counter = Counter::default();
    assert_eq!(Plugin::handle_message(&mut counter, Message::new(2)), None);
    assert_eq!(Counter::restore(Counter::save(counter)).0, 2);
}
