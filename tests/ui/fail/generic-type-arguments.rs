#[derive(Default)]
struct Counter<T>(T);

#[mpplugin::plugin]
impl Counter<u8> {
    fn handle_message(&mut self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
