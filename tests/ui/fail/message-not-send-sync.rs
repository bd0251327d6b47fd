use std::rc::Rc;

#[derive(Default)]
struct Counter;

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, _message: &Rc<u32>) -> Option<u8> {
        None
    }
}

fn main() {}
