#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn new(&self) -> Self {
        Counter
    }

    fn handle_message(&mut self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
