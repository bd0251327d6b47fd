/// A `save` that borrows the plugin instead of consuming it.
#[derive(Default)]
struct Counter(u64);

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &u64) -> Option<u8> {
        self.0 += message;
        None
    }

    fn save(&self) -> u64 {
        self.0
    }

    fn restore(count: u64) -> Self {
        Counter(count)
    }
}

fn main() {}
