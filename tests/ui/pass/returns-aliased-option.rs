use mpplugin::{Message, Plugin};

// The return type is checked by the compiler, not by its spelling.
type Status = Option<u8>;

#[derive(Default)]
struct Quiet;

#[mpplugin::plugin]
impl Quiet {
    fn handle_message(&mut self, _message: &u8) -> Status {
        None
    }
}

fn main() {
    assert_eq!(Plugin::handle_message(&mut Quiet, Message::new(1)), None);
}
