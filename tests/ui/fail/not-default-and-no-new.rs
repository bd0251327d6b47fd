struct Counter {
    total: u32,
}

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, message: &u32) -> Option<u8> {
        self.total += message;
        None
    }
}

fn main() {}
