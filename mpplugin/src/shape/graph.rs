//! A type's shape as static data: the node graph that [`Shape::SHAPE`]
//! points to, made at compile time by `#[derive(Shape)]` and the standard
//! impls, so that no code runs to describe a type. A declaration carries the
//! roots of its message and argument types' graphs; the host reads the
//! plugin's graph in place (`walk.rs`).
//!
//! Every type here is `#[repr(C)]` and made of fixed-size integers, raw
//! pointers and `extern "C"` function pointers: the host reads a plugin's
//! graph before it compares rustc identities. The pointers are raw, not
//! `&'static`: const evaluation checks what a reference in a constant points
//! to, recursively, and types that contain each other would then need each
//! other's constants first (E0391, a cycle); raw pointers are not followed.
//!
//! Safe code makes these values only through the `const fn`s below, which
//! take `&'static` data, so a graph made in safe code always points at live
//! data of the right type: what lets the host read its own graphs without
//! checks. The `unsafe` raw-parts constructors exist for tests that need a
//! malformed graph. Holds no reading of a graph.

use super::Shape;
use super::describe::Layout;
use crate::abi::StrRef;

/// [`StaticNode::kind`]: a type known by its name, layout and parameters.
pub(crate) const LEAF: u32 = 0;
/// A field's type known by name and layout only (`#[shape(opaque)]`).
pub(crate) const OPAQUE: u32 = 1;
/// A struct: fields with offsets.
pub(crate) const STRUCT: u32 = 2;
/// An enum: variants with discriminants and fields.
pub(crate) const ENUM: u32 = 3;

/// [`StaticNode::form`]: how the host writes the type's full name from its
/// name, parameters and constants. `path<P, ..., N, ...>`.
pub(crate) const PATH: u32 = 0;
/// `(A, B)`, `(A,)`.
pub(crate) const TUPLE: u32 = 1;
/// `[T; N]`: one parameter, one constant.
pub(crate) const ARRAY: u32 = 2;
/// `[T]`.
pub(crate) const SLICE: u32 = 3;
/// `&T`.
pub(crate) const REFERENCE: u32 = 4;
/// `fn(A, B) -> R`: the parameters are `R`, then the arguments.
pub(crate) const FUNCTION: u32 = 5;
/// `path<P, ...>` without its last parameter, which is compared but not
/// named (a `Reply`'s mpplugin version).
pub(crate) const PATH_HIDDEN_LAST: u32 = 6;

/// The address every [`Anchored`] text holds.
static ANCHOR: u8 = 0;

/// A text stored beside a pointer. The linker puts data that holds a
/// pointer with what the dynamic loader relocates (`.data.rel.ro`), whose
/// pages are in memory once `dlopen` returns; a plain string literal goes to
/// `.rodata`, and the host's first read of a name there would be a page
/// fault in a fresh library. Every name of a shape is kept this way:
/// `Anchored::<{ TEXT.len() }>::new(TEXT).as_str()` in a constant.
#[doc(hidden)]
#[repr(C)]
pub struct Anchored<const N: usize> {
    anchor: *const u8,
    bytes: [u8; N],
}

// SAFETY: immutable static data; the pointer is never read through.
unsafe impl<const N: usize> Sync for Anchored<N> {}

impl<const N: usize> Anchored<N> {
    /// `text`, which must have `N` bytes.
    pub const fn new(text: &str) -> Self {
        let text = text.as_bytes();
        assert!(text.len() == N, "an anchored text of another length");
        let mut bytes = [0; N];
        let mut at = 0;
        while at < N {
            bytes[at] = text[at];
            at += 1;
        }
        Self {
            anchor: &raw const ANCHOR,
            bytes,
        }
    }

    /// The text, where it is stored.
    pub const fn as_str(&'static self) -> &'static str {
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => text,
            Err(_) => panic!("an anchored text is made from a `str`"),
        }
    }
}

/// A string literal stored as an [`Anchored`] text: `anchored!("u32")`.
macro_rules! anchored {
    ($text:expr) => {{
        const TEXT: &str = $text;
        $crate::shape::Anchored::<{ TEXT.len() }>::new(TEXT).as_str()
    }};
}

pub(crate) use anchored;

/// Items in static memory, as a pointer and a length.
#[repr(C)]
pub struct StaticSlice<T: 'static> {
    pub(crate) ptr: *const T,
    pub(crate) len: usize,
}

impl<T> Clone for StaticSlice<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for StaticSlice<T> {}

impl<T> StaticSlice<T> {
    /// Borrows static items.
    pub const fn new(items: &'static [T]) -> Self {
        Self {
            ptr: items.as_ptr(),
            len: items.len(),
        }
    }

    /// Any pointer and length: for tests of malformed graphs.
    ///
    /// # Safety
    /// A graph holding it must never be read as the host's own
    /// ([`TypeShape::of`](super::TypeShape::of)): only a library's, whose
    /// reading checks every pointer (on Linux).
    #[doc(hidden)]
    pub const unsafe fn from_raw_parts(ptr: *const T, len: usize) -> Self {
        Self { ptr, len }
    }
}

/// Text in static memory.
pub type StaticText = StaticSlice<u8>;

const fn text(text: &'static str) -> StaticText {
    StaticSlice::new(text.as_bytes())
}

/// Where a type's node is: what [`Shape::SHAPE`] holds.
///
/// Either a node, or a function that returns the type's `SHAPE` when the
/// host asks (a field of a generic type that contains that type again, such
/// as `kids: Vec<Tree<T>>`: its constant cannot contain itself, so the host
/// calls the plugin for it). See [`Shape`] for which the derive uses.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ShapeRef {
    pub(crate) node: *const StaticNode,
    pub(crate) lazy: Option<extern "C" fn() -> ShapeRef>,
}

impl std::fmt::Debug for ShapeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapeRef")
            .field("node", &self.node)
            .field("lazy", &self.lazy.map(|lazy| lazy as *const ()))
            .finish()
    }
}

impl ShapeRef {
    /// The type whose node this is.
    pub const fn new(node: &'static StaticNode) -> Self {
        Self { node, lazy: None }
    }

    /// The type whose `SHAPE` `lazy` returns when the host asks: write
    /// `ShapeRef::lazy(mpplugin::shape::lazy_shape::<T>)`.
    pub const fn lazy(lazy: extern "C" fn() -> ShapeRef) -> Self {
        Self {
            node: std::ptr::null(),
            lazy: Some(lazy),
        }
    }

    /// Any node pointer and function: for tests of malformed graphs.
    ///
    /// # Safety
    /// As [`StaticSlice::from_raw_parts`].
    #[doc(hidden)]
    pub const unsafe fn from_raw_parts(
        node: *const StaticNode,
        lazy: Option<extern "C" fn() -> ShapeRef>,
    ) -> Self {
        Self { node, lazy }
    }
}

/// `T::SHAPE`, when the host asks: what [`ShapeRef::lazy`] takes.
pub extern "C" fn lazy_shape<T: Shape + ?Sized>() -> ShapeRef {
    T::SHAPE
}

/// `std::any::type_name::<T>()`: the name of an opaque type, which no
/// `const` can give on stable Rust.
extern "C" fn type_name_of<T: ?Sized>() -> StrRef {
    StrRef::new(std::any::type_name::<T>())
}

// SAFETY: a `ShapeRef` points to immutable static data (or is a function
// that returns such a pointer), and is never written through.
unsafe impl Sync for ShapeRef {}
// SAFETY: as for `Sync`.
unsafe impl Send for ShapeRef {}

/// One type of a shape, in static memory: see [`Node`](super::Node) for
/// what each part means once the host has read it.
#[repr(C)]
pub struct StaticNode {
    pub(crate) kind: u32,
    pub(crate) form: u32,
    /// The name (a path without generic arguments), or empty when
    /// `type_name` gives it.
    pub(crate) name: StaticText,
    /// Returns the name of an opaque type (`std::any::type_name`).
    pub(crate) type_name: Option<extern "C" fn() -> StrRef>,
    /// 1 for a sized type, whose `size` and `align` count; 0 for unsized.
    pub(crate) sized: u32,
    pub(crate) size: usize,
    pub(crate) align: usize,
    pub(crate) params: StaticSlice<ShapeRef>,
    /// A path's const generic arguments, each as two words, its low and its
    /// high 64 bits (`N as u128`: no argument is cut short); an array's one
    /// length.
    pub(crate) consts: StaticSlice<u64>,
    pub(crate) repr: StaticText,
    pub(crate) fields: StaticSlice<StaticField>,
    pub(crate) variants: StaticSlice<StaticVariant>,
}

// SAFETY: a node is immutable static data whose pointers point to
// immutable static data.
unsafe impl Sync for StaticNode {}
// SAFETY: as for `Sync`.
unsafe impl Send for StaticNode {}

const fn sized(layout: Option<Layout>) -> (u32, usize, usize) {
    match layout {
        Some(layout) => (1, layout.size, layout.align),
        None => (0, 0, 0),
    }
}

impl StaticNode {
    const fn of(
        kind: u32,
        form: u32,
        name: &'static str,
        layout: Option<Layout>,
        params: &'static [ShapeRef],
    ) -> Self {
        let (sized, size, align) = sized(layout);
        Self {
            kind,
            form,
            name: text(name),
            type_name: None,
            sized,
            size,
            align,
            params: StaticSlice::new(params),
            consts: StaticSlice::new(&[]),
            repr: text(""),
            fields: StaticSlice::new(&[]),
            variants: StaticSlice::new(&[]),
        }
    }

    /// A standard type, known by its path (`alloc::vec::Vec`, as
    /// `std::any::type_name` writes it, without generic arguments), layout
    /// (`None` if unsized) and type parameters.
    pub const fn leaf(
        path: &'static str,
        layout: Option<Layout>,
        params: &'static [ShapeRef],
    ) -> Self {
        Self::of(LEAF, PATH, path, layout, params)
    }

    /// A standard type whose const generic arguments are `consts`, two
    /// words each (see [`structure`](Self::structure)).
    pub(crate) const fn leaf_with_consts(
        path: &'static str,
        layout: Layout,
        consts: &'static [u64],
    ) -> Self {
        let mut node = Self::of(LEAF, PATH, path, Some(layout), &[]);
        node.consts = StaticSlice::new(consts);
        node
    }

    /// A standard type whose last parameter is compared but left out of its
    /// name.
    pub(crate) const fn leaf_with_hidden_last(
        path: &'static str,
        layout: Layout,
        params: &'static [ShapeRef],
    ) -> Self {
        Self::of(LEAF, PATH_HIDDEN_LAST, path, Some(layout), params)
    }

    /// A tuple of `params`.
    pub(crate) const fn tuple(layout: Layout, params: &'static [ShapeRef]) -> Self {
        Self::of(LEAF, TUPLE, "", Some(layout), params)
    }

    /// An array `[element; len]`.
    pub(crate) const fn array(
        layout: Layout,
        element: &'static [ShapeRef; 1],
        len: &'static [u64; 1],
    ) -> Self {
        let mut node = Self::of(LEAF, ARRAY, "", Some(layout), element);
        node.consts = StaticSlice::new(len);
        node
    }

    /// A slice `[element]`.
    pub(crate) const fn slice(element: &'static [ShapeRef; 1]) -> Self {
        Self::of(LEAF, SLICE, "", None, element)
    }

    /// A reference `&pointee`.
    pub(crate) const fn reference(layout: Layout, pointee: &'static [ShapeRef; 1]) -> Self {
        Self::of(LEAF, REFERENCE, "", Some(layout), pointee)
    }

    /// A function pointer: `params` are the return type, then the
    /// arguments.
    pub(crate) const fn function(layout: Layout, params: &'static [ShapeRef]) -> Self {
        Self::of(LEAF, FUNCTION, "", Some(layout), params)
    }

    /// The type `T` of a field marked `#[shape(opaque)]`: its name
    /// (`std::any::type_name`, given by a function the host calls), size and
    /// alignment.
    pub const fn opaque<T>() -> Self {
        let mut node = Self::of(OPAQUE, PATH, "", Some(Layout::of::<T>()), &[]);
        node.type_name = Some(type_name_of::<T>);
        node
    }

    /// A struct: its path (`concat!(module_path!(), "::", "Name")`),
    /// layout, `#[repr]` as written (`C, align(8)`, empty for none), type
    /// parameters, const generic arguments and fields in declaration order.
    /// Each const generic argument `N` takes two words of `consts`, its low
    /// and its high 64 bits: `(N as u128) as u64, ((N as u128) >> 64) as
    /// u64` (what `#[derive(Shape)]` writes), so that a `u128` argument is
    /// not cut short.
    pub const fn structure(
        path: &'static str,
        layout: Layout,
        repr: &'static str,
        params: &'static [ShapeRef],
        consts: &'static [u64],
        fields: &'static [StaticField],
    ) -> Self {
        let mut node = Self::of(STRUCT, PATH, path, Some(layout), params);
        node.repr = text(repr);
        node.consts = StaticSlice::new(consts);
        node.fields = StaticSlice::new(fields);
        node
    }

    /// An enum, as [`structure`](Self::structure) with variants in
    /// declaration order.
    pub const fn enumeration(
        path: &'static str,
        layout: Layout,
        repr: &'static str,
        params: &'static [ShapeRef],
        consts: &'static [u64],
        variants: &'static [StaticVariant],
    ) -> Self {
        let mut node = Self::of(ENUM, PATH, path, Some(layout), params);
        node.repr = text(repr);
        node.consts = StaticSlice::new(consts);
        node.variants = StaticSlice::new(variants);
        node
    }

    /// Every part as given: for tests of malformed graphs. `kind` 0 to 3 is
    /// leaf, opaque, struct, enum; `form` 0 to 5 is path, tuple, array,
    /// slice, reference, function, path without its last parameter.
    ///
    /// # Safety
    /// As [`StaticSlice::from_raw_parts`].
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const unsafe fn from_raw_parts(
        kind: u32,
        form: u32,
        name: StaticText,
        sized: u32,
        size: usize,
        align: usize,
        params: StaticSlice<ShapeRef>,
        fields: StaticSlice<StaticField>,
        type_name: Option<extern "C" fn() -> StrRef>,
    ) -> Self {
        Self {
            kind,
            form,
            name,
            type_name,
            sized,
            size,
            align,
            params,
            consts: StaticSlice::new(&[]),
            repr: text(""),
            fields,
            variants: StaticSlice::new(&[]),
        }
    }
}

/// A field of a struct or of an enum's variant, in static memory.
#[repr(C)]
pub struct StaticField {
    pub(crate) name: StaticText,
    /// 1 if `offset` counts (a struct's field), 0 in a variant.
    pub(crate) has_offset: u32,
    pub(crate) offset: usize,
    pub(crate) ty: ShapeRef,
}

// SAFETY: as for `StaticNode`.
unsafe impl Sync for StaticField {}
// SAFETY: as for `StaticNode`.
unsafe impl Send for StaticField {}

impl StaticField {
    /// A struct's field at `offset` (`core::mem::offset_of!`).
    pub const fn new(name: &'static str, offset: usize, ty: ShapeRef) -> Self {
        Self {
            name: text(name),
            has_offset: 1,
            offset,
            ty,
        }
    }

    /// A field of an enum's variant.
    pub const fn in_variant(name: &'static str, ty: ShapeRef) -> Self {
        Self {
            name: text(name),
            has_offset: 0,
            offset: 0,
            ty,
        }
    }
}

/// A variant of an enum, in static memory.
#[repr(C)]
pub struct StaticVariant {
    pub(crate) name: StaticText,
    /// The discriminant's low and high 64 bits (an `i128`, whose alignment
    /// is not the same for every rustc).
    pub(crate) discriminant: [u64; 2],
    pub(crate) fields: StaticSlice<StaticField>,
}

// SAFETY: as for `StaticNode`.
unsafe impl Sync for StaticVariant {}
// SAFETY: as for `StaticNode`.
unsafe impl Send for StaticVariant {}

impl StaticVariant {
    /// A variant with its discriminant and fields
    /// ([`StaticField::in_variant`]).
    pub const fn new(
        name: &'static str,
        discriminant: i128,
        fields: &'static [StaticField],
    ) -> Self {
        Self {
            name: text(name),
            discriminant: [discriminant as u64, (discriminant >> 64) as u64],
            fields: StaticSlice::new(fields),
        }
    }
}

/// An `i128` from a [`StaticVariant`]'s two halves.
pub(crate) fn discriminant(halves: [u64; 2]) -> i128 {
    (i128::from(halves[1] as i64) << 64) | i128::from(halves[0])
}
