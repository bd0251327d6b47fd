// Two generic types that contain each other compile when the field that
// closes the cycle is `#[shape(lazy)]`, and their shape is read whole.
use mpplugin::Shape;
use mpplugin::shape::{Kind, TypeShape};

#[derive(Shape)]
pub struct Forest<T: 'static> {
    pub trees: Vec<Tree<T>>,
}

#[derive(Shape)]
pub struct Tree<T: 'static> {
    pub value: T,
    #[shape(lazy)]
    pub children: Option<Box<Forest<T>>>,
}

fn main() {
    let shape = TypeShape::of::<Tree<u32>>();
    // Tree<u32>, u32, Option<Box<Forest<u32>>>, Box<Forest<u32>>,
    // Forest<u32>, Vec<Tree<u32>>: the inner tree is the root again.
    assert_eq!(shape.nodes().len(), 6, "{shape}");
    let Kind::Struct { fields, .. } = &shape.root().kind else {
        panic!("a struct");
    };
    assert!(shape.node(fields[1].ty).name.contains("Forest<u32>"));
    assert_eq!(shape, TypeShape::of::<Tree<u32>>());
}
