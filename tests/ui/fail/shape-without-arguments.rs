#[derive(mpplugin::Shape)]
pub struct Msg {
    #[shape]
    pub count: u64,
}

fn main() {}
