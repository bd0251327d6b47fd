#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn handle_message(_message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
