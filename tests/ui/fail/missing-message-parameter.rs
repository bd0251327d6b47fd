#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self) -> Option<u8> {
        None
    }
}

fn main() {}
