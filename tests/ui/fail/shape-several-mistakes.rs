// Every mistake is reported in one pass.
#[derive(mpplugin::Shape)]
#[shape(crate = mpplugin, crate = mpplugin)]
pub enum Msg {
    Add(#[shape(opaque, opaque)] u64),
    Sub {
        #[shape(size = 8)]
        value: u64,
    },
}

fn main() {}
