struct Counter;

#[mpplugin::plugin(krate = mpplugin)]
impl Counter {
    fn new(_limit: u32, _name: &String) -> Self {
        Counter
    }

    async fn handle_message(&self, _message: u32) {}
}

fn main() {
    // The block is still emitted: using its methods raises no further error.
    let _ = Counter::new(1, &String::new());
}
