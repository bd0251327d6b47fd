use mpplugin::{Message, Plugin};

struct Greeter {
    greeting: String,
}

#[mpplugin::plugin]
impl Greeter {
    fn new() -> Result<Self, String> {
        let greeting = String::from("hello");
        if greeting.is_empty() {
            return Err("no greeting".to_owned());
        }
        Ok(Greeter { greeting })
    }

    fn handle_message(&mut self, message: &String) -> Option<u8> {
        (message == &self.greeting).then_some(0)
    }
}

fn main() {
    // What the loaded library's constructor calls.
    let built = <Greeter as mpplugin::__private::Construct<String>>::construct();
    assert_eq!(built.map(|plugin| plugin.greeting).as_deref(), Ok("hello"));
    let mut plugin = Greeter::new().unwrap();
    let handled = Plugin::handle_message(&mut plugin, Message::new("hello".to_owned()));
    assert_eq!(handled, Some(0));
}
