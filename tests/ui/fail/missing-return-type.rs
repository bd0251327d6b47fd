#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, _message: &u32) {}
}

fn main() {}
