use std::rc::Rc;

#[derive(Default)]
struct Counter {
    shared: Rc<u32>,
}

#[mpplugin::plugin]
impl Counter {
    fn handle_message(&mut self, _message: &u32) -> Option<u8> {
        None
    }
}

fn main() {}
