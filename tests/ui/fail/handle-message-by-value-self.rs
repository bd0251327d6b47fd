#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn handle_message(self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
