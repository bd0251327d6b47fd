#[derive(mpplugin::Shape)]
pub struct Msg {
    #[shape(crate = mpplugin)]
    pub count: u64,
}

fn main() {}
