#[mpplugin::plugin]
trait Handler {
    fn handle_message(&mut self, _message: &u32) -> Option<u8>;
}

fn main() {}
