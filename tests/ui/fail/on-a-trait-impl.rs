use mpplugin::{Message, Plugin};

#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Plugin<u32> for Counter {
    fn handle_message(&mut self, _message: Message<u32>) -> Option<u8> {
        None
    }
}

fn main() {}
