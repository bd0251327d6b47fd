use mpplugin::Plugin;

#[derive(Default)]
struct Echo;

#[mpplugin::plugin]
impl Echo {
    fn handle_message(&mut self, message: mpplugin::Message<u8>) -> Option<u8> {
        Some(*message)
    }
}

fn main() {
    let mut plugin = Echo;
    let handled = Plugin::handle_message(&mut plugin, mpplugin::Message::new(42));
    assert_eq!(handled, Some(42));
}
