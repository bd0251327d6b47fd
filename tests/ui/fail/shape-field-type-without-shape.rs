/// Another crate's type, without `Shape`.
pub struct Foreign(u32);

#[derive(mpplugin::Shape)]
pub struct Msg {
    pub count: u64,
    pub id: Foreign,
}

fn main() {}
