/// A state type without `#[derive(mpplugin::Shape)]`.
pub struct Saved {
    pub count: u64,
}

#[derive(Default)]
struct Counter(u64);

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &u64) -> Option<u8> {
        self.0 += message;
        None
    }

    fn save(self) -> Saved {
        Saved { count: self.0 }
    }

    fn restore(state: Saved) -> Self {
        Counter(state.count)
    }
}

fn main() {}
