use mpplugin::{Message, Plugin};

#[derive(Default)]
struct Counter {
    total: u32,
}

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &u32) -> Option<u8> {
        self.total += message;
        (self.total > 10).then_some(7)
    }
}

fn main() {
    let mut plugin = Counter::default();
    assert_eq!(Plugin::handle_message(&mut plugin, Message::new(4)), None);
    assert_eq!(
        Plugin::handle_message(&mut plugin, Message::new(7)),
        Some(7)
    );
}
