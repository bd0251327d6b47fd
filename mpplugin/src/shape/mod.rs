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
//! - for every type: its name (`std::any::type_name`, generic arguments
//!   included), size and alignment, and its type parameters' shapes;
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
//! A plugin hands its shapes over as bytes ([`TypeShape::encode`]), built
//! once per process by its own code ([`encoded`]). The host decodes them
//! with [`TypeShape::decode`], which checks every length, reference and
//! string against the bytes it was given: a malformed shape is an error,
//! never a crash or a huge allocation. Equal types encode to equal bytes,
//! so comparing an already-loaded library's shape again is one `memcmp`;
//! only when the bytes differ does [`TypeShape::difference`] walk both to
//! name the first difference as a path from the type down (`Msg.count`,
//! `Op::Add`, `Msg.inner.scale`).
//!
//! # What stays unchecked
//!
//! Opaque fields beyond their name and layout; what a `Box<dyn Trait>`
//! points to (its vtable is the side's that made it); the code behind a
//! function pointer. Their names are compared, their behaviour cannot be.

mod compare;
mod describe;
mod encoding;
mod impls;
mod print;

use std::any::TypeId;
use std::sync::{Mutex, PoisonError};

pub use compare::ShapeDifference;
pub use describe::{Builder, Field, Kind, Layout, Node, TypeRef, TypeShape, Variant};
pub use encoding::MalformedShape;

// Made here, where describing and encoding meet: neither of their files
// imports the other's.
impl TypeShape {
    /// The shape of `T` in this build.
    ///
    /// # Panics
    /// If a hand-written [`Shape`] impl returns a [`TypeRef`] that its
    /// [`Builder`] did not make.
    pub fn of<T: Shape + ?Sized>() -> Self {
        let nodes = describe::nodes_of::<T>();
        let count = nodes.len();
        let fits = |ty: &TypeRef| ty.index() < count;
        assert!(
            nodes
                .iter()
                .all(|node| describe::node_refs(node).all(|ty| fits(&ty))),
            "a `Shape` impl returned a `TypeRef` from another `Builder`"
        );
        let bytes = encoding::encode(&nodes).into();
        Self { nodes, bytes }
    }
}

/// A type whose shape the loader can compare between a host and a plugin.
///
/// Derive it: `#[derive(mpplugin::Shape)]` on a struct (named, tuple or
/// unit) or an enum, generic ones included. Fields of another crate's type
/// that has no `Shape` take `#[shape(opaque)]`; a renamed mpplugin
/// dependency is named with `#[shape(crate = path)]` on the type. Written by
/// hand, an impl returns its type's [`Node`] and asks the [`Builder`] for the
/// [`TypeRef`] of each type it is made of.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `mpplugin::Shape`, so the loader cannot compare it with a plugin's",
    label = "add `#[derive(mpplugin::Shape)]` to the definition of `{Self}`",
    note = "a field of another crate's type that has no `Shape` takes `#[shape(opaque)]`: it is then compared by name, size and alignment only"
)]
pub trait Shape: 'static {
    /// This type's node. The types it is made of come from
    /// [`builder.of::<F>()`](Builder::of), which describes each type once.
    fn describe(builder: &mut Builder) -> Node;
}

/// [`TypeShape::of::<T>().encode()`](TypeShape::encode), made once per
/// process and kept: what a declaration hands over, and what the host
/// compares it with.
pub fn encoded<T: Shape + ?Sized>() -> &'static [u8] {
    // A list, not a `HashMap`: a process has a few message types, and a fresh
    // plugin's first `HashMap` asks the kernel for random keys.
    static ENCODED: Mutex<Vec<(TypeId, &'static [u8])>> = Mutex::new(Vec::new());
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
    // Described outside the lock: a `Shape` impl may panic, and one type's
    // description never waits for another's.
    // Straight from the nodes to the bytes: this runs in every fresh copy
    // of a plugin, where each page of code it touches is a page fault.
    let encoding = encoding::encode(&describe::nodes_of::<T>());
    let mut cache = ENCODED.lock().unwrap_or_else(PoisonError::into_inner);
    // Two threads may both have described `T`: the first one kept wins.
    if let Some(bytes) = known(&cache) {
        return bytes;
    }
    let bytes: &'static [u8] = Vec::leak(encoding);
    cache.push((id, bytes));
    bytes
}
