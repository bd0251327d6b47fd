#[derive(mpplugin::Shape)]
#[shape(opaque)]
pub struct Msg {
    pub count: u64,
}

fn main() {}
