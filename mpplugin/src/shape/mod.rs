//! What decides how a type's bytes are read, so that a host and a plugin can
//! compare their message and argument types field by field.
//!
//! A name, a size and an alignment are no identity: two builds of one types
//! crate that differ by a cargo feature can swap two `u64`/`f64` fields,
//! reorder two variants, or turn a `u64` into an `i64`, and agree on all
//! three. The plugin then reads the host's `count = 7` as
//! `4602678819172646912`, or its `Add(2)` as `Sub(2)`. A [`Shape`] says what
//! the loader needs to see such a difference:
//!
//! - for every type: its name (its path, as `std::any::type_name` writes
//!   it, generic arguments included), size and alignment, and its type
//!   parameters' shapes;
//! - for a struct: its `#[repr]`, and each field's name, offset
//!   (`core::mem::offset_of!`) and type, in declaration order;
//! - for an enum: its `#[repr]`, and each variant's name, discriminant and
//!   fields (name and type), in declaration order;
//! - for a standard type (`Vec<T>`, `Option<T>`, `String`, ...): nothing more.
//!   The loader refuses a plugin built by another rustc, so both sides have
//!   the same standard library, and a standard type with the same name and
//!   the same parameter shapes is the same type;
//! - for a field marked `#[shape(opaque)]` (another crate's type without a
//!   `Shape`): its type's name, size and alignment only, as before shapes.
//!   A hasher of a `HashMap` or `HashSet` is known the same way.
//!   [`TypeShape::opaque_fields`] lists them, and `PluginInfo` reports them.
//!
//! ```
//! #[derive(mpplugin::Shape)]
//! pub struct Msg {
//!     pub count: u64,
//!     pub op: Op,
//! }
//!
//! #[derive(mpplugin::Shape)]
//! pub enum Op {
//!     Add(u64),
//!     Sub(u64),
//! }
//!
//! let shape = mpplugin::shape::TypeShape::of::<Msg>();
//! println!("{shape}");
//! ```
//!
//! # Why enum fields carry no offset
//!
//! Stable Rust cannot compute the offset of a field inside an enum's
//! variant (`offset_of!` on enums is unstable). It need not: rustc lays a
//! type out from its definition alone (its `repr`, its variants with their
//! order and discriminants, their fields with their order and types, and
//! those types' layouts), and the loader already refuses a plugin built by
//! another rustc. Two enums whose shapes are equal down to every field's
//! type therefore have one layout. Struct fields carry their offsets all the
//! same, so that the refusal can say where a field moved to. (A nightly
//! `-Z randomize-layout` build breaks this reasoning, and is not supported.)
//!
//! # Across the library boundary
//!
//! A shape is static data: [`Shape::SHAPE`] points to a graph of
//! [`StaticNode`]s that the derive and the standard impls make at compile
//! time, and a declaration carries the roots of its message and argument
//! types' graphs. The host reads a plugin's graph in place, in the plugin's
//! memory, without calling it: no plugin code runs to describe a type,
//! except the function of a field of a generic type that contains itself
//! (see [`Shape`]) and the name of an opaque field's type
//! (`std::any::type_name` is not `const` on stable Rust).
//!
//! Reading a plugin's graph trusts none of it. On Linux every pointer (a
//! node, a list of fields, a name) must lie inside a readable segment of
//! the library that holds the declaration, aligned for what it points to,
//! and every function the host calls must start inside its code; every
//! count and length is bounded, every name must be UTF-8, a graph of more
//! than 4096 types or nested more than 256 deep is refused, and so is
//! anything that is not a node (an unknown kind, a struct without a
//! layout). On Linux a malformed graph is a
//! [`LoadError::BadDeclaration`](crate::LoadError::BadDeclaration) that says
//! what is wrong, never a crash. Elsewhere (macOS, Windows) the pointers are
//! checked for null and alignment only (counts, lengths, UTF-8 and the rest
//! are checked everywhere): there a pointer into memory the library does
//! not map is a crash, as a wrong pointer among the declaration's own
//! strings is there.
//!
//! The host reads each graph into a [`TypeShape`] once per library (a
//! library is never unloaded, so the address of its root is never another
//! graph's). Each type is one node, however often the graph holds it (a
//! generic type's node may be duplicated at several addresses): equal types
//! give equal nodes, whose encoding ([`TypeShape::encode`]) is equal bytes.
//! Equal means equal all the way down, not merely of one name: two types
//! that share a name (defined inside function bodies of one module, from
//! two versions of one crate) and differ in a field stay two nodes.
//! Comparing a plugin's shape with the host's is then one `memcmp`, and
//! only when the bytes differ does [`TypeShape::difference`] walk both to
//! name the first difference as a path from the type down (`Msg.count`,
//! `Op::Add`, `Msg.inner.scale`). A reload's state shape is read the same
//! way: each plugin hands over the root of its state's graph, and the host
//! reads both, each checked against its own plugin's library.
//!
//! When the host's type is known before the library is opened
//! (`mpplugin::load::<T>`, `load_with`), the loader first walks the
//! plugin's graph beside the host's own, node beside node, checking every
//! pointer of the plugin's as above: equal, the plugin's shape is the
//! host's, and nothing is read into nodes, named or encoded (the
//! [`TypeShape`] in `PluginInfo` is made from the host's graph when first
//! asked for). Any difference, or anything the lockstep does not follow,
//! and the graph is read into a `TypeShape` as ever, so that what differs,
//! or what is malformed, is said in the same words. [`TypeShape::decode`] reads the encoding back, checking every
//! length, reference and string, for tools that keep shapes as bytes.
//!
//! # What stays unchecked
//!
//! Opaque fields beyond their name and layout; what a `Box<dyn Trait>`
//! points to (its vtable is the side's that made it); the code behind a
//! function pointer. Their names are compared, their behaviour cannot be.

mod compare;
mod describe;
mod encoding;
mod graph;
mod impls;
pub(crate) mod lockstep;
mod merge;
mod print;
pub(crate) mod walk;

use std::any::TypeId;
use std::sync::{Mutex, PoisonError};

pub use compare::ShapeDifference;
pub(crate) use describe::Unread;
pub use describe::{Field, Kind, Layout, Node, TypeRef, TypeShape, Variant};
pub use encoding::MalformedShape;
pub use graph::{
    Anchored, ShapeRef, StaticField, StaticNode, StaticSlice, StaticText, StaticVariant, lazy_shape,
};

// Made here, where reading a graph and encoding meet: neither of their files
// imports the other's.
impl TypeShape {
    /// The shape of `T` in this build, read from its static graph.
    ///
    /// # Panics
    /// If `T` is made of more than 4096 types, or nests them more than 256
    /// deep.
    pub fn of<T: Shape + ?Sized>() -> Self {
        let nodes = walk::nodes(T::SHAPE, &mut walk::Own).unwrap_or_else(|reason| {
            panic!("the shape of `{}`: {reason}", std::any::type_name::<T>())
        });
        Self::from_nodes(nodes)
    }

    /// The shape of these nodes, encoded once.
    pub(crate) fn from_nodes(nodes: Vec<Node>) -> Self {
        let bytes = encoding::encode(&nodes).into();
        Self::made(nodes.into(), bytes)
    }
}

/// A type whose shape the loader can compare between a host and a plugin.
///
/// Derive it: `#[derive(mpplugin::Shape)]` on a struct (named, tuple or
/// unit) or an enum, generic ones included. Fields of another crate's type
/// that has no `Shape` take `#[shape(opaque)]`; a renamed mpplugin
/// dependency is named with `#[shape(crate = path)]` on the type.
///
/// A shape is static data ([`SHAPE`](Self::SHAPE)), made at compile time:
/// the host reads a plugin's shapes without running its code. The derive
/// puts a type's node in a `static` of its own, so that types may contain
/// each other through pointers, `Box`es and collections. A generic type's
/// node is a constant per instance instead, which cannot contain itself:
/// a field of a generic type whose type names the type again
/// (`kids: Vec<Tree<T>>`) refers to its type through a function
/// ([`ShapeRef::lazy`]), which the host calls when it reads the shape (the
/// one case where it runs a plugin's code for a shape). Two generic types
/// that contain each other (`A<T>` holds a `B<T>`, which holds an `A<T>`)
/// fail to compile with "cycle detected when evaluating `SHAPE`": mark the
/// field that closes the cycle `#[shape(lazy)]`.
///
/// Written by hand, an impl is a [`StaticNode`] made by its `const`
/// constructors (`StaticNode::leaf`, `StaticNode::structure`, ...) from the
/// `SHAPE`s of the types it is made of.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `mpplugin::Shape`, so the loader cannot compare it with a plugin's",
    label = "add `#[derive(mpplugin::Shape)]` to the definition of `{Self}`",
    note = "a field of another crate's type that has no `Shape` takes `#[shape(opaque)]`: it is then compared by name, size and alignment only"
)]
pub trait Shape: 'static {
    /// Where this type's node is, in static memory.
    const SHAPE: ShapeRef;
}

/// [`TypeShape::of::<T>().encode()`](TypeShape::encode), made once per
/// process and kept: what the host compares a plugin's shapes with.
pub fn encoded<T: Shape + ?Sized>() -> &'static [u8] {
    static ENCODED: Mutex<Vec<(TypeId, &'static [u8])>> = Mutex::new(Vec::new());
    // A list, not a `HashMap`: a process has a few message types, and a fresh
    // plugin's first `HashMap` asks the kernel for random keys.
    let id = TypeId::of::<T>();
    let known = |cache: &[(TypeId, &'static [u8])]| {
        cache
            .iter()
            .find(|(known, _)| *known == id)
            .map(|&(_, bytes)| bytes)
    };
    if let Some(bytes) = known(&ENCODED.lock().unwrap_or_else(PoisonError::into_inner)) {
        return bytes;
    }
    // Read outside the lock: one type's shape never waits for another's.
    let bytes = TypeShape::of::<T>().encode();
    let mut cache = ENCODED.lock().unwrap_or_else(PoisonError::into_inner);
    // Two threads may both have read `T`: the first one kept wins.
    if let Some(bytes) = known(&cache) {
        return bytes;
    }
    let bytes: &'static [u8] = Vec::leak(bytes);
    cache.push((id, bytes));
    bytes
}
