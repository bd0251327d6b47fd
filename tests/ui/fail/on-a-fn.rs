#[mpplugin::plugin]
fn handle_message(_message: &u32) -> Option<u8> {
    None
}

fn main() {}
