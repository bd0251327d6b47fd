use std::fmt;

use mpplugin::{Message, Plugin};

#[derive(Debug)]
struct TooSmall(u32);

impl fmt::Display for TooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "capacity {} is too small", self.0)
    }
}

struct Window {
    capacity: u32,
    held: u32,
}

#[mpplugin::plugin]
impl Window {
    fn new(capacity: &u32) -> Result<Self, TooSmall> {
        if *capacity < 2 {
            return Err(TooSmall(*capacity));
        }
        Ok(Window {
            capacity: *capacity,
            held: 0,
        })
    }

    fn handle_message(&mut self, _message: &()) -> Option<u8> {
        self.held += 1;
        (self.held == self.capacity).then_some(2)
    }
}

fn main() {
    // What the loaded library's constructor calls: the error's `Display`.
    let refused = <Window as mpplugin::__private::ConstructWith<()>>::construct(&1);
    assert_eq!(refused.err().as_deref(), Some("capacity 1 is too small"));
    assert_eq!(
        Window::new(&1)
            .err()
            .map(|error| error.to_string())
            .as_deref(),
        Some("capacity 1 is too small")
    );
    let mut plugin = Window::new(&2).unwrap();
    assert_eq!(Plugin::handle_message(&mut plugin, Message::new(())), None);
    assert_eq!(
        Plugin::handle_message(&mut plugin, Message::new(())),
        Some(2)
    );
}
