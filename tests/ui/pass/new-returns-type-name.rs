use mpplugin::{Message, Plugin};

struct Threshold {
    limit: u32,
}

#[mpplugin::plugin]
impl Threshold {
    fn new() -> Threshold {
        Threshold { limit: 3 }
    }

    fn handle_message(&mut self, message: &u32) -> Option<u8> {
        (*message > self.limit).then_some(1)
    }
}

fn main() {
    // What the loaded library's constructor calls.
    let built = <Threshold as mpplugin::__private::Construct<u32>>::construct();
    assert_eq!(built.map(|plugin| plugin.limit), Ok(3));
    let mut plugin = Threshold::new();
    assert_eq!(Plugin::handle_message(&mut plugin, Message::new(3)), None);
    assert_eq!(
        Plugin::handle_message(&mut plugin, Message::new(4)),
        Some(1)
    );
}
