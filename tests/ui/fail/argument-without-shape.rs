/// An argument type without `#[derive(mpplugin::Shape)]`.
pub struct Settings {
    pub limit: u64,
}

struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn new(_settings: &Settings) -> Self {
        Counter
    }

    fn handle_message(&mut self, _message: &u64) -> Option<u8> {
        None
    }
}

fn main() {}
