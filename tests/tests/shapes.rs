//! `#[derive(Shape)]` and the shapes it builds: what the derive records,
//! that shapes survive their encoding, that malformed bytes are refused
//! without a panic or a huge allocation, and that the comparison names the
//! first difference between two drifted definitions as a path.
//!
//! Two definitions of "the same" type live in modules `a` (the host's) and
//! `b` (the plugin's), whose names have the same length: the plugin's shape
//! is renamed into the host's module byte for byte, as if both had been
//! built from one types crate with different features.
//!
//! The types exist for their shapes: most are never constructed.
#![allow(dead_code, unreachable_pub)]

use std::borrow::Cow;
use std::collections::HashMap;

use mpplugin::Shape;
use mpplugin::shape::{Kind, Layout, ShapeDifference, TypeShape, encoded};

/// The shape of `B` as if it had been defined where `A` is.
fn as_host<A: Shape, B: Shape>() -> (TypeShape, TypeShape) {
    let host = TypeShape::of::<A>();
    let mut bytes = TypeShape::of::<B>().encode();
    let (from, to) = (b"::b::", b"::a::");
    for at in 0..bytes.len().saturating_sub(from.len() - 1) {
        if &bytes[at..at + from.len()] == from {
            bytes[at..at + from.len()].copy_from_slice(to);
        }
    }
    let plugin = TypeShape::decode(&bytes).expect("a renamed shape still decodes");
    (host, plugin)
}

fn difference<A: Shape, B: Shape>() -> Option<ShapeDifference> {
    let (host, plugin) = as_host::<A, B>();
    TypeShape::difference(&host, &plugin)
}

fn path_of<A: Shape, B: Shape>() -> (String, String, String) {
    let found = difference::<A, B>().expect("the shapes differ");
    (found.path, found.host, found.plugin)
}

mod a {
    use mpplugin::Shape;

    #[derive(Shape)]
    pub struct Swapped {
        pub count: u64,
        pub ratio: f64,
    }

    #[derive(Shape)]
    pub enum Op {
        Add(u64),
        Sub(u64),
    }

    #[derive(Shape)]
    pub struct Signed {
        pub count: u64,
    }

    #[derive(Shape)]
    pub struct Inner {
        pub scale: u32,
    }

    #[derive(Shape)]
    pub struct Nested {
        pub id: u8,
        pub inner: Inner,
    }

    #[derive(Shape)]
    pub struct Added {
        pub small: u32,
        pub large: u64,
    }

    #[derive(Shape)]
    pub struct Wrapper<T> {
        pub value: T,
    }

    #[derive(Shape)]
    pub struct Generic {
        pub wrapped: Wrapper<u32>,
    }

    #[derive(Shape)]
    pub struct Listed {
        pub items: Vec<Inner>,
    }

    #[derive(Shape)]
    pub enum Tree {
        Leaf(u32),
        Node(Vec<Tree>, Box<Inner>),
    }

    #[derive(Shape)]
    #[repr(C)]
    pub struct Repr {
        pub a: u32,
    }

    #[derive(Shape)]
    pub enum Renamed {
        Start,
        Stop,
    }

    #[derive(Shape)]
    pub struct Same {
        pub count: u64,
        pub inner: Inner,
        pub tree: Tree,
    }
    // Two types that contain each other, neither generic.
    #[derive(Shape)]
    pub struct Ping {
        pub count: u32,
        pub pong: Option<Box<Pong>>,
    }

    #[derive(Shape)]
    pub struct Pong {
        pub pings: Vec<Ping>,
        pub scale: u32,
    }

    // A type that contains itself, named `Self`.
    #[derive(Shape)]
    pub struct Chain {
        pub value: u64,
        pub next: Option<Box<Self>>,
    }

    // A generic type that contains itself: its field refers to its type
    // through a function.
    #[derive(Shape)]
    pub struct Branch<T: 'static> {
        pub value: T,
        pub kids: Vec<Branch<T>>,
    }

    #[derive(Shape)]
    pub struct Grove {
        pub root: Branch<Inner>,
        pub count: u32,
    }
}

mod b {
    use mpplugin::Shape;

    #[derive(Shape)]
    pub struct Swapped {
        pub ratio: f64,
        pub count: u64,
    }

    #[derive(Shape)]
    pub enum Op {
        Sub(u64),
        Add(u64),
    }

    #[derive(Shape)]
    pub struct Signed {
        pub count: i64,
    }

    #[derive(Shape)]
    pub struct Inner {
        pub scale: f32,
    }

    #[derive(Shape)]
    pub struct Nested {
        pub id: u8,
        pub inner: Inner,
    }

    // A field added in the padding: same size and alignment.
    #[derive(Shape)]
    pub struct Added {
        pub small: u32,
        pub extra: u32,
        pub large: u64,
    }

    #[derive(Shape)]
    pub struct Wrapper<T> {
        pub value: T,
    }

    #[derive(Shape)]
    pub struct Generic {
        pub wrapped: Wrapper<i32>,
    }

    #[derive(Shape)]
    pub struct Listed {
        pub items: Vec<Inner>,
    }

    #[derive(Shape)]
    pub enum Tree {
        Leaf(u32),
        Node(Vec<Tree>, Box<Inner>),
    }

    #[derive(Shape)]
    pub struct Repr {
        pub a: u32,
    }

    #[derive(Shape)]
    pub enum Renamed {
        Start,
        Halt,
    }

    #[derive(Shape)]
    pub struct Same {
        pub count: u64,
        pub inner: super::a::Inner,
        pub tree: super::a::Tree,
    }
    #[derive(Shape)]
    pub struct Ping {
        pub count: u32,
        pub pong: Option<Box<Pong>>,
    }

    #[derive(Shape)]
    pub struct Pong {
        pub pings: Vec<Ping>,
        pub scale: f32,
    }

    #[derive(Shape)]
    pub struct Chain {
        pub value: i64,
        pub next: Option<Box<Self>>,
    }

    #[derive(Shape)]
    pub struct Branch<T: 'static> {
        pub value: T,
        pub kids: Vec<Branch<T>>,
    }

    #[derive(Shape)]
    pub struct Grove {
        pub root: Branch<Inner>,
        pub count: u32,
    }
}

#[test]
fn swapped_fields_are_named_with_their_positions_and_offsets() {
    assert_eq!(size_of::<a::Swapped>(), size_of::<b::Swapped>());
    let (path, host, plugin) = path_of::<a::Swapped, b::Swapped>();
    assert_eq!(path, "Swapped.count");
    assert_eq!(host, "field 1 of 2, at offset 0");
    assert_eq!(plugin, "field 2 of 2, at offset 8");
}

#[test]
fn reordered_variants_are_named_with_their_discriminants() {
    let (path, host, plugin) = path_of::<a::Op, b::Op>();
    assert_eq!(path, "Op::Add");
    assert_eq!(host, "variant 1 of 2, discriminant 0");
    assert_eq!(plugin, "variant 2 of 2, discriminant 1");
}

#[test]
fn a_field_of_another_type_of_the_same_size_is_named_with_both_types() {
    let (path, host, plugin) = path_of::<a::Signed, b::Signed>();
    assert_eq!(path, "Signed.count");
    assert_eq!((host.as_str(), plugin.as_str()), ("`u64`", "`i64`"));
}

#[test]
fn a_difference_in_a_nested_type_is_named_from_the_outer_type_down() {
    let (path, host, plugin) = path_of::<a::Nested, b::Nested>();
    assert_eq!(path, "Nested.inner.scale");
    assert_eq!((host.as_str(), plugin.as_str()), ("`u32`", "`f32`"));
}

#[test]
fn a_field_added_in_the_padding_is_named() {
    assert_eq!(size_of::<a::Added>(), size_of::<b::Added>());
    let (path, host, plugin) = path_of::<a::Added, b::Added>();
    assert_eq!(path, "Added.extra");
    assert_eq!(host, "no field `extra`");
    assert_eq!(plugin, "field `extra`");
}

#[test]
fn other_generic_arguments_are_named() {
    let (path, host, plugin) = path_of::<a::Generic, b::Generic>();
    assert_eq!(path, "Generic.wrapped");
    assert!(host.contains("Wrapper<u32>"), "{host}");
    assert!(plugin.contains("Wrapper<i32>"), "{plugin}");
}

#[test]
fn a_difference_inside_a_standard_container_names_its_parameter() {
    let (path, host, plugin) = path_of::<a::Listed, b::Listed>();
    assert_eq!(path, "Listed.items<Inner>.scale");
    assert_eq!((host.as_str(), plugin.as_str()), ("`u32`", "`f32`"));
}

#[test]
fn a_difference_inside_a_recursive_type_is_found_and_the_walk_ends() {
    let (path, _, _) = path_of::<a::Tree, b::Tree>();
    assert_eq!(path, "Tree::Node.1<Inner>.scale");
}

#[test]
fn types_that_contain_each_other_are_read_once_and_compared() {
    let shape = TypeShape::of::<a::Ping>();
    // Ping, u32, Option<Box<Pong>>, Box<Pong>, Pong, Vec<Ping>: the inner
    // `Ping` is the root again.
    assert_eq!(shape.nodes().len(), 6, "{shape}");
    assert_eq!(difference::<a::Ping, a::Ping>(), None);
    let (path, host, plugin) = path_of::<a::Ping, b::Ping>();
    assert_eq!(path, "Ping.pong<Box<Pong>><Pong>.scale");
    assert_eq!((host.as_str(), plugin.as_str()), ("`u32`", "`f32`"));
    // Met from the other side, the cycle is the same.
    let (path, _, _) = path_of::<a::Pong, b::Pong>();
    assert_eq!(path, "Pong.scale");
}

#[test]
fn a_type_that_names_itself_self_is_recursive() {
    let shape = TypeShape::of::<a::Chain>();
    // Chain, u64, Option<Box<Chain>>, Box<Chain>.
    assert_eq!(shape.nodes().len(), 4, "{shape}");
    assert_eq!(difference::<a::Chain, a::Chain>(), None);
    let (path, host, plugin) = path_of::<a::Chain, b::Chain>();
    assert_eq!(path, "Chain.value");
    assert_eq!((host.as_str(), plugin.as_str()), ("`u64`", "`i64`"));
}

#[test]
fn a_generic_type_that_contains_itself_is_read_through_its_function() {
    let shape = TypeShape::of::<a::Branch<u8>>();
    // Branch<u8>, u8, Vec<Branch<u8>>: the vector's parameter, reached
    // through the field's function, is the root again.
    assert_eq!(shape.nodes().len(), 3, "{shape}");
    assert_eq!(
        shape.node(shape.nodes()[2].params[0]).name,
        shape.root().name
    );
    assert_eq!(difference::<a::Grove, a::Grove>(), None);
    assert_eq!(
        difference::<a::Branch<a::Inner>, a::Branch<a::Inner>>(),
        None
    );
    let (path, host, plugin) = path_of::<a::Grove, b::Grove>();
    assert_eq!(path, "Grove.root<Inner>.scale");
    assert_eq!((host.as_str(), plugin.as_str()), ("`u32`", "`f32`"));
}

#[test]
fn another_repr_is_a_difference() {
    let (path, host, plugin) = path_of::<a::Repr, b::Repr>();
    assert_eq!(path, "Repr");
    assert!(host.contains("`#[repr(C)]`"), "{host}");
    assert!(plugin.contains("no `#[repr]`"), "{plugin}");
}

#[test]
fn a_renamed_variant_is_missing_on_one_side() {
    let (path, host, plugin) = path_of::<a::Renamed, b::Renamed>();
    assert_eq!(path, "Renamed::Stop");
    assert_eq!(host, "variant `Stop`");
    assert_eq!(plugin, "no variant `Stop`");
}

#[test]
fn identical_definitions_have_equal_bytes_and_no_difference() {
    let (host, plugin) = as_host::<a::Same, b::Same>();
    assert_eq!(host.encode(), plugin.encode());
    assert_eq!(TypeShape::difference(&host, &plugin), None);
    assert_eq!(difference::<a::Tree, a::Tree>(), None);
}

#[derive(Shape)]
#[repr(C, align(16))]
struct Named {
    first: u8,
    second: u64,
    r#type: String,
}

#[derive(Shape)]
struct Tuple(u16, Named);

#[derive(Shape)]
struct Unit;

#[derive(Shape)]
#[repr(i8)]
enum Discriminants {
    Low = -2,
    Next,
    High = 100,
    Last(u8),
}

const BASE: u16 = 1 << 12;

#[derive(Shape)]
#[repr(u16)]
enum FromConstant {
    First = BASE + 1,
    Second,
}

/// Another crate's type without a `Shape`.
struct Foreign(u32, u32);

#[derive(Shape)]
struct WithOpaque {
    count: u64,
    #[shape(opaque)]
    id: Foreign,
    op: WithOpaqueOp,
}

#[derive(Shape)]
enum WithOpaqueOp {
    Tag(#[shape(opaque)] Foreign),
}

#[derive(Shape)]
struct List<T> {
    value: T,
    next: Option<Box<List<T>>>,
}

#[derive(Shape)]
struct Borrowing<'a> {
    text: Cow<'a, str>,
}

#[derive(Shape)]
#[allow(clippy::type_complexity)]
struct Everything {
    unsized_text: Box<str>,
    map: HashMap<String, Vec<Option<(u8, [u16; 4])>>>,
    queue: std::collections::VecDeque<std::sync::Arc<std::path::PathBuf>>,
    times: (
        std::time::Duration,
        std::time::Instant,
        std::time::SystemTime,
    ),
    sender: std::sync::mpsc::SyncSender<std::sync::Mutex<std::sync::atomic::AtomicU64>>,
    sets: (
        std::collections::BTreeSet<i8>,
        std::collections::HashSet<char>,
    ),
    tree: std::collections::BTreeMap<bool, Result<(), String>>,
    marker: std::marker::PhantomData<fn() -> u8>,
    tokio: tokio::sync::mpsc::UnboundedSender<&'static str>,
}

#[test]
fn the_derive_records_names_offsets_and_types_of_struct_fields() {
    let shape = TypeShape::of::<Named>();
    let root = shape.root();
    assert_eq!(root.name, std::any::type_name::<Named>());
    assert_eq!(
        root.layout,
        Some(Layout {
            size: size_of::<Named>(),
            align: 16
        })
    );
    let Kind::Struct { repr, fields } = &root.kind else {
        panic!("a struct: {root:?}")
    };
    assert_eq!(repr, "C, align(16)");
    let seen: Vec<_> = fields
        .iter()
        .map(|field| {
            (
                field.name.as_ref(),
                field.offset,
                shape.node(field.ty).name.as_ref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("first", Some(std::mem::offset_of!(Named, first)), "u8"),
            ("second", Some(std::mem::offset_of!(Named, second)), "u64"),
            (
                "type",
                Some(std::mem::offset_of!(Named, r#type)),
                "alloc::string::String"
            ),
        ]
    );

    let shape = TypeShape::of::<Tuple>();
    let Kind::Struct { fields, .. } = &shape.root().kind else {
        panic!("a struct")
    };
    let names: Vec<_> = fields.iter().map(|f| (f.name.as_ref(), f.offset)).collect();
    assert_eq!(
        names,
        [
            ("0", Some(std::mem::offset_of!(Tuple, 0))),
            ("1", Some(std::mem::offset_of!(Tuple, 1)))
        ]
    );

    let shape = TypeShape::of::<Unit>();
    assert!(matches!(&shape.root().kind, Kind::Struct { fields, .. } if fields.is_empty()));
}

#[test]
fn the_derive_records_discriminants_as_rustc_computes_them() {
    let discriminants = |shape: TypeShape| match &shape.root().kind {
        Kind::Enum { repr, variants } => (
            repr.to_string(),
            variants
                .iter()
                .map(|v| (v.name.to_string(), v.discriminant))
                .collect::<Vec<_>>(),
        ),
        other => panic!("an enum: {other:?}"),
    };
    let (repr, found) = discriminants(TypeShape::of::<Discriminants>());
    assert_eq!(repr, "i8");
    assert_eq!(
        found,
        [
            ("Low".into(), -2),
            ("Next".into(), -1),
            ("High".into(), 100),
            ("Last".into(), 101)
        ]
    );
    let (_, found) = discriminants(TypeShape::of::<FromConstant>());
    assert_eq!(
        found,
        [
            ("First".into(), FromConstant::First as i128),
            ("Second".into(), FromConstant::Second as i128)
        ]
    );
    assert_eq!(found[1].1, 4098);
}

#[test]
fn opaque_fields_are_known_by_name_and_layout_and_listed() {
    let shape = TypeShape::of::<WithOpaque>();
    assert_eq!(
        shape.opaque_fields(),
        ["WithOpaque.id", "WithOpaque.op::Tag.0"]
    );
    let Kind::Struct { fields, .. } = &shape.root().kind else {
        panic!("a struct")
    };
    let id = shape.node(fields[1].ty);
    assert_eq!(id.kind, Kind::Opaque);
    assert_eq!(id.name, std::any::type_name::<Foreign>());
    assert_eq!(id.layout, Some(Layout::of::<Foreign>()));
    assert!(shape.to_string().contains("opaque"), "{shape}");
}

#[test]
fn recursive_and_generic_types_terminate_and_name_their_parameters() {
    let shape = TypeShape::of::<List<u32>>();
    let root = shape.root();
    assert_eq!(root.params.len(), 1);
    assert_eq!(shape.node(root.params[0]).name, "u32");
    // The list, u32, Option<Box<List>>, Box<List>: the inner `List<u32>` is
    // the root again.
    assert_eq!(shape.nodes().len(), 4);
    let boxed = shape
        .nodes()
        .iter()
        .find(|node| node.name.starts_with("alloc::boxed::Box"))
        .expect("a box");
    assert_eq!(boxed.params[0].index(), 0);
}

#[test]
fn every_standard_type_of_a_message_has_a_shape_that_round_trips() {
    fn round_trip<T: Shape + ?Sized>() {
        let shape = TypeShape::of::<T>();
        let bytes = shape.encode();
        assert_eq!(
            TypeShape::decode(&bytes).as_ref(),
            Ok(&shape),
            "{}",
            std::any::type_name::<T>()
        );
        assert_eq!(encoded::<T>(), &bytes[..]);
    }
    round_trip::<Everything>();
    round_trip::<Borrowing<'static>>();
    round_trip::<Named>();
    round_trip::<Discriminants>();
    round_trip::<List<String>>();
    round_trip::<WithOpaque>();
    round_trip::<a::Tree>();
    round_trip::<str>();
}

#[test]
fn a_type_is_encoded_once_per_process() {
    let first = encoded::<Everything>();
    assert!(std::ptr::eq(first, encoded::<Everything>()));
}

#[test]
fn the_printed_shape_shows_fields_offsets_and_variants() {
    let printed = TypeShape::of::<a::Same>().to_string();
    let count = format!("count @{}: u64\n", std::mem::offset_of!(a::Same, count));
    let inner = format!(
        "inner @{}: Inner (size 4, align 4)",
        std::mem::offset_of!(a::Same, inner)
    );
    for expected in [
        "Same (size",
        &count,
        &inner,
        "scale @0: u32",
        "Leaf = 0",
        "Node = 1",
        "<parameter 1>: Tree",
        "as above",
    ] {
        assert!(printed.contains(expected), "{expected:?} in\n{printed}");
    }
}

mod malformed {
    use super::*;

    fn valid() -> Vec<u8> {
        TypeShape::of::<Everything>().encode()
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = valid();
        for length in 0..bytes.len() {
            assert!(
                TypeShape::decode(&bytes[..length]).is_err(),
                "{length} bytes of {}",
                bytes.len()
            );
        }
    }

    #[test]
    fn bytes_left_over_are_refused() {
        let mut bytes = valid();
        bytes.push(0);
        let error = TypeShape::decode(&bytes).unwrap_err();
        assert!(error.reason.contains("left after"), "{error}");
    }

    #[test]
    fn another_format_and_an_unknown_kind_are_refused() {
        let mut bytes = valid();
        bytes[0] = 9;
        assert!(
            TypeShape::decode(&bytes)
                .unwrap_err()
                .reason
                .contains("format 9")
        );
        let mut bytes = valid();
        // The first node's kind follows the format byte and the node count.
        bytes[2] = 7;
        let error = TypeShape::decode(&bytes).unwrap_err();
        assert!(error.reason.contains("unknown kind 7"), "{error}");
    }

    #[test]
    fn absurd_counts_and_lengths_are_refused_before_any_allocation() {
        // Format 1, then u64::MAX nodes.
        let mut bytes = vec![1];
        bytes.extend([0xff; 9]);
        bytes.push(0x01);
        let error = TypeShape::decode(&bytes).unwrap_err();
        assert!(error.reason.contains("nodes claimed"), "{error}");
        // One leaf node whose name claims 2^60 bytes.
        let mut bytes = vec![1, 1, 0];
        bytes.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
        let error = TypeShape::decode(&bytes).unwrap_err();
        assert!(error.reason.contains("text of"), "{error}");
        // Zero nodes.
        assert!(TypeShape::decode(&[1, 0]).is_err());
    }

    #[test]
    fn a_reference_to_a_missing_node_is_refused() {
        // One leaf `u8`, sized 1/1, with one parameter: node 5.
        let bytes = [1, 1, 0, 2, b'u', b'8', 1, 1, 1, 1, 5];
        let error = TypeShape::decode(&bytes).unwrap_err();
        assert!(error.reason.contains("node 5"), "{error}");
        let fine = [1, 1, 0, 2, b'u', b'8', 1, 1, 1, 1, 0];
        assert!(TypeShape::decode(&fine).is_ok());
    }

    #[test]
    fn text_that_is_not_utf8_and_a_bad_alignment_are_refused() {
        let bytes = [1, 1, 0, 2, 0xff, 0xfe, 1, 1, 1, 0];
        assert!(
            TypeShape::decode(&bytes)
                .unwrap_err()
                .reason
                .contains("UTF-8")
        );
        let bytes = [1, 1, 0, 2, b'u', b'8', 1, 1, 3, 0];
        assert!(
            TypeShape::decode(&bytes)
                .unwrap_err()
                .reason
                .contains("power of two")
        );
    }

    #[test]
    fn no_change_of_one_byte_makes_the_decoder_panic() {
        let bytes = valid();
        for at in 0..bytes.len() {
            for value in [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] = value;
                if let Ok(shape) = TypeShape::decode(&changed) {
                    // What decodes can be compared and printed too.
                    let _ = TypeShape::difference(&shape, &TypeShape::of::<Everything>());
                    let _ = shape.to_string();
                    let _ = shape.opaque_fields();
                }
            }
        }
    }
}

// ---- types of one name that differ ----

/// Two types for one pair: `TwoOf<A, B>`.
#[derive(Shape)]
struct TwoOf<A, B> {
    a: A,
    b: B,
}

/// Names a type defined inside a block, where no path reaches it (as inside
/// a function body): every type `Inner` below is `shapes::Inner` to its
/// derive.
trait DefinedIn {
    type T: Shape;
}

struct InF;
struct InG;
struct InG2;

const _: () = {
    #[derive(Shape)]
    struct Inner {
        x: u32,
        y: u64,
    }
    impl DefinedIn for InF {
        type T = Inner;
    }
};

const _: () = {
    /// As `define_inner_types`'s, field for field.
    #[derive(Shape)]
    struct Inner {
        x: u32,
        y: u64,
    }
    impl DefinedIn for InG {
        type T = Inner;
    }
};

const _: () = {
    /// Another `Inner` of the same name, size and alignment, other fields.
    #[derive(Shape)]
    struct Inner {
        #[shape(opaque)]
        y: u64,
        z: u32,
    }
    impl DefinedIn for InG2 {
        type T = Inner;
    }
};

type F = <InF as DefinedIn>::T;
type G = <InG as DefinedIn>::T;
type G2 = <InG2 as DefinedIn>::T;

#[test]
fn two_types_of_one_name_that_differ_stay_two_types() {
    let (f, g2) = (TypeShape::of::<F>(), TypeShape::of::<G2>());
    assert_eq!(f.root().name, g2.root().name, "the premise: one name");
    assert_eq!(f.root().layout, g2.root().layout, "and one layout");
    // One pair holds both: the second must not be taken for the first.
    let host = TypeShape::of::<TwoOf<F, G>>();
    let plugin = TypeShape::of::<TwoOf<F, G2>>();
    assert_ne!(host.encode(), plugin.encode());
    assert_ne!(host, plugin);
    let difference = TypeShape::difference(&host, &plugin).expect("a difference");
    assert!(
        difference
            .to_string()
            .ends_with("the host has field `x`, the plugin has no field `x`"),
        "{difference}"
    );
    assert_eq!(plugin.nodes().len(), host.nodes().len() + 2, "{plugin}");
}

#[test]
fn two_types_of_one_name_that_are_equal_are_one_type() {
    // `F` and `G` are equal field for field: a pair of them encodes as a
    // pair of one of them, whichever it is.
    let two = TypeShape::of::<TwoOf<F, G>>();
    assert_eq!(two.encode(), TypeShape::of::<TwoOf<F, F>>().encode());
    assert_eq!(two.encode(), TypeShape::of::<TwoOf<G, G>>().encode());
    assert_eq!(
        TypeShape::difference(&two, &TypeShape::of::<TwoOf<G, F>>()),
        None
    );
}

// ---- const generic arguments ----

/// A type of one `u128` constant.
#[derive(Shape)]
struct Wide<const N: u128>;

/// A type of one `i64` constant.
#[derive(Shape)]
struct Signed<const N: i64>;

/// A type of one `char` and one `bool` constant.
#[derive(Shape)]
struct Marked<const C: char, const B: bool>;

#[test]
fn const_arguments_are_named_whole_as_rustc_names_them() {
    // Two arguments that agree in their low 64 bits: cut to a `u64`, they
    // were one.
    const LOW: u128 = 1;
    const HIGH: u128 = (1 << 64) | 1;
    let (low, high) = (TypeShape::of::<Wide<LOW>>(), TypeShape::of::<Wide<HIGH>>());
    assert_ne!(low.encode(), high.encode());
    assert_ne!(TypeShape::difference(&low, &high), None);
    for (shape, name) in [
        (low, std::any::type_name::<Wide<LOW>>()),
        (high, std::any::type_name::<Wide<HIGH>>()),
        (
            TypeShape::of::<Wide<{ u128::MAX >> 1 }>>(),
            std::any::type_name::<Wide<{ u128::MAX >> 1 }>>(),
        ),
        (
            TypeShape::of::<Signed<-3>>(),
            std::any::type_name::<Signed<-3>>(),
        ),
        (
            TypeShape::of::<Signed<{ i64::MIN }>>(),
            // `type_name` says `i64::MIN` here.
            "shapes::Signed<-9223372036854775808>",
        ),
        (
            TypeShape::of::<Signed<7>>(),
            std::any::type_name::<Signed<7>>(),
        ),
    ] {
        assert_eq!(shape.root().name, name);
    }
    assert_ne!(
        TypeShape::of::<Marked<'a', true>>().encode(),
        TypeShape::of::<Marked<'b', true>>().encode()
    );
    assert_ne!(
        TypeShape::of::<Marked<'a', true>>().encode(),
        TypeShape::of::<Marked<'a', false>>().encode()
    );
}
