// Every form the derive takes: named, tuple and unit structs, enums with
// explicit discriminants, generic types, opaque fields, raw identifiers,
// and a renamed dependency.
extern crate mpplugin as runtime;

use mpplugin::Shape;
use mpplugin::shape::{Kind, TypeShape};

/// Another crate's type, without `Shape`.
pub struct Foreign(pub u32);

#[derive(Shape)]
pub struct Named {
    pub count: u64,
    pub r#type: String,
    #[shape(opaque)]
    pub id: Foreign,
}

#[derive(Shape)]
pub struct Tuple(pub u8, pub Named);

#[derive(Shape)]
pub struct Unit;

#[derive(Shape)]
#[repr(u8)]
pub enum Op<T: Clone>
where
    T: Send,
{
    Add(T) = 3,
    Sub { value: T },
    Stop,
}

#[derive(Shape)]
pub struct Generic<'a, T, const N: usize> {
    pub items: [T; N],
    pub name: std::borrow::Cow<'a, str>,
}

#[derive(Shape)]
#[shape(crate = runtime)]
pub struct Renamed {
    pub value: u8,
}

fn main() {
    let shape = TypeShape::of::<Op<u64>>();
    let Kind::Enum { variants, .. } = &shape.root().kind else {
        panic!("an enum");
    };
    let discriminants: Vec<_> = variants.iter().map(|v| v.discriminant).collect();
    assert_eq!(discriminants, [3, 4, 5]);
    assert_eq!(TypeShape::of::<Named>().opaque_fields(), ["Named.id"]);
    assert_eq!(TypeShape::of::<Tuple>().nodes().len(), 6);
    let _ = TypeShape::of::<Unit>();
    let _ = TypeShape::of::<Generic<'static, u16, 3>>();
    let _ = TypeShape::of::<Renamed>();
}
