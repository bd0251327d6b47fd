struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn new() -> u32 {
        0
    }

    fn handle_message(&mut self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
