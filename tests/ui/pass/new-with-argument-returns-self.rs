use mpplugin::{Message, Plugin};

struct Prefixer {
    prefix: String,
    seen: Vec<String>,
}

#[mpplugin::plugin]
impl Prefixer {
    fn new(prefix: &String) -> Self {
        Prefixer {
            prefix: prefix.clone(),
            seen: Vec::new(),
        }
    }

    fn handle_message(&mut self, message: &String) -> Option<u8> {
        self.seen.push(format!("{}{message}", self.prefix));
        None
    }
}

fn main() {
    let built =
        <Prefixer as mpplugin::__private::ConstructWith<String>>::construct(&"# ".to_owned());
    assert_eq!(built.map(|plugin| plugin.prefix).as_deref(), Ok("# "));
    let mut plugin = Prefixer::new(&"> ".to_owned());
    assert_eq!(
        Plugin::handle_message(&mut plugin, Message::new("hi".to_owned())),
        None
    );
    assert_eq!(plugin.seen, ["> hi"]);
}
