// Two generic types that contain each other: each one's `SHAPE` constant
// would contain the other's, which contains the first. The compile error
// names the constants; `#[shape(lazy)]` on one of the fields breaks the
// cycle (see `ui/pass/shape-lazy.rs`).
use mpplugin::Shape;

#[derive(Shape)]
pub struct Forest<T: 'static> {
    pub trees: Vec<Tree<T>>,
}

#[derive(Shape)]
pub struct Tree<T: 'static> {
    pub value: T,
    pub children: Option<Box<Forest<T>>>,
}

fn main() {
    let _ = <Tree<u32> as Shape>::SHAPE;
}
