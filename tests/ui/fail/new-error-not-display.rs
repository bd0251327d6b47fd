struct Counter;

#[derive(Debug)]
struct Failure;

#[mpplugin::plugin]
impl Counter {
    fn new() -> Result<Self, Failure> {
        Ok(Counter)
    }

    fn handle_message(&mut self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
