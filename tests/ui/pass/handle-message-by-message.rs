use std::sync::Arc;

use mpplugin::{Message, Plugin};

#[derive(Default)]
struct Keeper {
    kept: Vec<Arc<String>>,
}

#[mpplugin::plugin]
impl Keeper {
    fn handle_message(&mut self, message: Message<String>) -> Option<u8> {
        self.kept.push(message.into_arc());
        None
    }
}

fn main() {
    let mut plugin = Keeper::default();
    let shared = Arc::new(String::from("hello"));
    let handled = Plugin::handle_message(&mut plugin, Message::from(Arc::clone(&shared)));
    assert_eq!(handled, None);
    // The plugin keeps the very `Arc` the host sent, not a copy.
    assert!(Arc::ptr_eq(&plugin.kept[0], &shared));
}
