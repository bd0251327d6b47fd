#[derive(Default)]
struct Counter<T>(T);

#[mpplugin::plugin]
impl<T: Send + 'static> Counter<T> {
    fn handle_message(&mut self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
