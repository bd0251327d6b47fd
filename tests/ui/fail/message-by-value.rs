#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, _message: Vec<u32>) -> Option<u8> {
        None
    }
}

fn main() {}
