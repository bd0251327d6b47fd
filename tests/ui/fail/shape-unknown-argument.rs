#[derive(mpplugin::Shape)]
pub struct Msg {
    #[shape(skip)]
    pub count: u64,
}

fn main() {}
