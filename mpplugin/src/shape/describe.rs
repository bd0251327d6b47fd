//! The description of a type: one [`Node`] per type it is made of, built by
//! a [`Builder`] that gives each type its node once (so that recursive types
//! terminate) and collected into a [`TypeShape`].
//!
//! Holds no encoding and no comparison: those read the nodes built here.

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::Arc;

use super::Shape;

/// A node of the [`TypeShape`] being built or read: an index into its
/// nodes. Only meaningful with the builder or shape that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeRef(pub(crate) u32);

impl TypeRef {
    /// The node's position in [`TypeShape::nodes`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Size and alignment of a sized type, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layout {
    /// `size_of` the type.
    pub size: usize,
    /// `align_of` the type.
    pub align: usize,
}

impl Layout {
    /// The layout of `T`.
    pub const fn of<T>() -> Self {
        Self {
            size: size_of::<T>(),
            align: align_of::<T>(),
        }
    }
}

/// One type of a shape: its name, layout and generic parameters, and what
/// it is made of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Node {
    /// `std::any::type_name` of the type, generic arguments included.
    pub name: Cow<'static, str>,
    /// Size and alignment; `None` for an unsized type (`str`, `[T]`).
    pub layout: Option<Layout>,
    /// The shapes of its generic type parameters, in order.
    pub params: Vec<TypeRef>,
    /// What it is made of.
    pub kind: Kind,
}

/// What a [`Node`] is made of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A type described by its name, layout and parameters alone: the
    /// primitives and the standard library's types. Both sides of a load are
    /// built by one rustc, so such a type is the same type when its name and
    /// its parameters' shapes match.
    Leaf,
    /// A field's type marked `#[shape(opaque)]`: only its name and layout
    /// are known, and only they are compared.
    Opaque,
    /// A struct: its fields in declaration order, each at its offset.
    Struct {
        /// Its `#[repr(...)]` attributes as written, empty for none.
        repr: Cow<'static, str>,
        /// Its fields; tuple structs name them `0`, `1`, ...
        fields: Vec<Field>,
    },
    /// An enum: its variants in declaration order.
    Enum {
        /// Its `#[repr(...)]` attributes as written, empty for none.
        repr: Cow<'static, str>,
        /// Its variants.
        variants: Vec<Variant>,
    },
}

/// A field of a struct or of an enum's variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Field {
    /// Its name; `0`, `1`, ... in a tuple.
    pub name: Cow<'static, str>,
    /// Its offset in the struct (`core::mem::offset_of!`); `None` in an
    /// enum's variant, where stable Rust cannot compute it (see the module
    /// docs of [`shape`](crate::shape) for why the comparison is sound
    /// without it).
    pub offset: Option<usize>,
    /// Its type.
    pub ty: TypeRef,
}

impl Field {
    /// A struct's field at `offset`, of the type `ty` (from
    /// [`Builder::of`]).
    pub fn new(name: &'static str, offset: usize, ty: TypeRef) -> Self {
        Self {
            name: Cow::Borrowed(name),
            offset: Some(offset),
            ty,
        }
    }

    /// A field of an enum's variant, of the type `ty`.
    pub fn in_variant(name: &'static str, ty: TypeRef) -> Self {
        Self {
            name: Cow::Borrowed(name),
            offset: None,
            ty,
        }
    }

    /// A struct's field at `offset` (`None` in a variant) whose type `F` is
    /// known by name and layout only: `#[shape(opaque)]`.
    pub fn opaque<F>(builder: &mut Builder, name: &'static str, offset: Option<usize>) -> Self {
        let ty = builder.push(Node {
            name: Cow::Borrowed(std::any::type_name::<F>()),
            layout: Some(Layout::of::<F>()),
            params: Vec::new(),
            kind: Kind::Opaque,
        });
        Self {
            name: Cow::Borrowed(name),
            offset,
            ty,
        }
    }
}

/// A variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Variant {
    /// Its name.
    pub name: Cow<'static, str>,
    /// Its discriminant's value.
    pub discriminant: i128,
    /// Its fields (none for a unit variant).
    pub fields: Vec<Field>,
}

impl Variant {
    /// A variant with its discriminant and fields
    /// ([`Field::in_variant`]).
    pub fn new(name: &'static str, discriminant: i128, fields: Vec<Field>) -> Self {
        Self {
            name: Cow::Borrowed(name),
            discriminant,
            fields,
        }
    }
}

impl Node {
    /// A [`Kind::Leaf`] node for `T` with these generic parameters.
    pub fn leaf<T>(params: Vec<TypeRef>) -> Self {
        Self {
            name: Cow::Borrowed(std::any::type_name::<T>()),
            layout: Some(Layout::of::<T>()),
            params,
            kind: Kind::Leaf,
        }
    }

    /// A [`Kind::Leaf`] node for an unsized `T` (`str`, `[T]`, `dyn Trait`).
    pub fn unsized_leaf<T: ?Sized>(params: Vec<TypeRef>) -> Self {
        Self {
            name: Cow::Borrowed(std::any::type_name::<T>()),
            layout: None,
            params,
            kind: Kind::Leaf,
        }
    }

    /// A [`Kind::Struct`] node for `T`.
    pub fn structure<T>(repr: &'static str, params: Vec<TypeRef>, fields: Vec<Field>) -> Self {
        Self {
            name: Cow::Borrowed(std::any::type_name::<T>()),
            layout: Some(Layout::of::<T>()),
            params,
            kind: Kind::Struct {
                repr: Cow::Borrowed(repr),
                fields,
            },
        }
    }

    /// A [`Kind::Enum`] node for `T`.
    pub fn enumeration<T>(
        repr: &'static str,
        params: Vec<TypeRef>,
        variants: Vec<Variant>,
    ) -> Self {
        Self {
            name: Cow::Borrowed(std::any::type_name::<T>()),
            layout: Some(Layout::of::<T>()),
            params,
            kind: Kind::Enum {
                repr: Cow::Borrowed(repr),
                variants,
            },
        }
    }
}

/// Collects the nodes of one type's shape. A [`Shape`] impl asks it for the
/// [`TypeRef`] of each type it is made of ([`of`](Self::of)); each type gets
/// one node, so that a type met again, or inside itself, is a reference to
/// the node it already has.
#[derive(Debug, Default)]
pub struct Builder {
    nodes: Vec<Option<Node>>,
    /// A list, not a `HashMap`: a shape has tens of types, and a fresh
    /// plugin's first `HashMap` asks the kernel for random keys.
    seen: Vec<(TypeId, TypeRef)>,
}

impl Builder {
    /// The node of `T`, described now if this builder has not met `T`.
    pub fn of<T: Shape + ?Sized>(&mut self) -> TypeRef {
        let id = TypeId::of::<T>();
        if let Some(&(_, known)) = self.seen.iter().find(|(seen, _)| *seen == id) {
            return known;
        }
        let reserved = self.reserve();
        self.seen.push((id, reserved));
        let node = T::describe(self);
        self.nodes[reserved.index()] = Some(node);
        reserved
    }

    fn reserve(&mut self) -> TypeRef {
        let index = u32::try_from(self.nodes.len()).expect("a shape of more than 2^32 types");
        self.nodes.push(None);
        TypeRef(index)
    }

    fn push(&mut self, node: Node) -> TypeRef {
        let reserved = self.reserve();
        self.nodes[reserved.index()] = Some(node);
        reserved
    }
}

/// The shape of one type: every type it is made of, each once. The type
/// itself is the first node.
///
/// Two shapes are equal when their encodings are ([`as_bytes`](Self::as_bytes)):
/// one comparison of bytes.
#[derive(Debug, Clone)]
pub struct TypeShape {
    pub(crate) nodes: Vec<Node>,
    /// The nodes, encoded.
    pub(crate) bytes: Arc<[u8]>,
}

impl PartialEq for TypeShape {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for TypeShape {}

impl std::hash::Hash for TypeShape {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl TypeShape {
    /// Every node; the first is the type itself.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The type itself.
    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    /// The node `ty` refers to.
    ///
    /// # Panics
    /// If `ty` is not a node of this shape.
    pub fn node(&self, ty: TypeRef) -> &Node {
        &self.nodes[ty.index()]
    }
}

/// The nodes of `T`'s shape, unchecked: what a plugin encodes and hands
/// over (the host checks every reference when it decodes them).
pub(crate) fn nodes_of<T: Shape + ?Sized>() -> Vec<Node> {
    let mut builder = Builder::default();
    builder.of::<T>();
    builder
        .nodes
        .into_iter()
        .map(|node| node.expect("every reserved node is described before `of` returns"))
        .collect()
}

/// Every node a node refers to: its parameters, then its fields' types.
pub(crate) fn node_refs(node: &Node) -> impl Iterator<Item = TypeRef> + '_ {
    let fields: Box<dyn Iterator<Item = &Field>> = match &node.kind {
        Kind::Leaf | Kind::Opaque => Box::new(std::iter::empty()),
        Kind::Struct { fields, .. } => Box::new(fields.iter()),
        Kind::Enum { variants, .. } => Box::new(variants.iter().flat_map(|v| v.fields.iter())),
    };
    node.params
        .iter()
        .copied()
        .chain(fields.map(|field| field.ty))
}
