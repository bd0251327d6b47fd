// A user who renamed the dependency names it with `crate = ...`.
extern crate mpplugin as runtime;

mod plugins {
    use runtime::{Message, Plugin};

    #[derive(Default)]
    pub struct Doubler;

    #[runtime::plugin(crate = runtime)]
    impl Doubler {
        fn handle_message(&mut self, message: &u8) -> Option<u8> {
            Some(message * 2)
        }
    }

    pub fn run() {
        let handled = Plugin::handle_message(&mut Doubler, Message::new(21));
        assert_eq!(handled, Some(42));
    }
}

fn main() {
    plugins::run();
}
