use mpplugin::{Message, Plugin};

#[derive(Default)]
struct Last {
    last: Option<char>,
}

#[mpplugin::plugin]
impl Last {
    fn handle_message(&mut self, message: &char) -> Option<u8> {
        self.last = Some(*message);
        None
    }
}

fn main() {
    // What the loaded library's constructor calls.
    let built = <Last as mpplugin::__private::Construct<char>>::construct();
    assert_eq!(built.map(|plugin| plugin.last), Ok(None));
    let mut plugin = Last::default();
    assert_eq!(Plugin::handle_message(&mut plugin, Message::new('x')), None);
    assert_eq!(plugin.last, Some('x'));
}
