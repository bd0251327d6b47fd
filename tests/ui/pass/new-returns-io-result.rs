use std::io;

use mpplugin::{Message, Plugin};

struct Reader {
    read: usize,
}

#[mpplugin::plugin]
impl Reader {
    fn new(path: &String) -> io::Result<Self> {
        if path.is_empty() {
            return Err(io::Error::other("empty path"));
        }
        Ok(Reader { read: 0 })
    }

    fn handle_message(&mut self, message: &Vec<u8>) -> Option<u8> {
        self.read += message.len();
        None
    }
}

fn main() {
    // What the loaded library's constructor calls: the `io::Error` becomes
    // its message.
    let construct = <Reader as mpplugin::__private::ConstructWith<Vec<u8>>>::construct;
    assert_eq!(construct(&String::new()).err().as_deref(), Some("empty path"));
    assert_eq!(construct(&"data".to_owned()).map(|plugin| plugin.read), Ok(0));
    let mut plugin = Reader::new(&"data".to_owned()).unwrap();
    assert_eq!(
        Plugin::handle_message(&mut plugin, Message::new(vec![1, 2])),
        None
    );
    assert_eq!(plugin.read, 2);
}
