/// A `restore` with no `save` to give it a state.
#[derive(Default)]
struct Counter(u64);

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &u64) -> Option<u8> {
        self.0 += message;
        None
    }

    fn restore(count: u64) -> Self {
        Counter(count)
    }
}

fn main() {}
