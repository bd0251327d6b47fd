/// A `restore` that takes `self`, as if it changed a plugin in place.
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

    fn restore(&mut self, count: u64) -> Self {
        Counter(count + self.0)
    }
}

fn main() {}
