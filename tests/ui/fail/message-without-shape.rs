/// A message type without `#[derive(mpplugin::Shape)]`.
pub struct Command {
    pub count: u64,
}

#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, _message: &Command) -> Option<u8> {
        None
    }
}

fn main() {}
