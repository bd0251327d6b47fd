#[mpplugin::plugin]
struct Counter {
    total: u32,
}

fn main() {}
