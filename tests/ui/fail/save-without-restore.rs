/// A `save` with no `restore` to start the next build from it.
#[derive(Default)]
struct Counter(u64);

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &u64) -> Option<u8> {
        self.0 += message;
        None
    }

    fn save(self) -> u64 {
        self.0
    }
}

fn main() {}
