#[derive(Default)]
struct Counter;

#[mpplugin::plugin(crate = plugin_runtime)]
impl Counter {
    fn handle_message(&mut self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
