#[derive(mpplugin::Shape)]
#[shape(lazy)]
pub struct Msg {
    pub count: u64,
}

fn main() {}
