//! The description of a type as the host reads it: one [`Node`] per type it
//! is made of, collected into a [`TypeShape`] (read from a static graph by
//! `walk.rs`, or decoded from bytes by `encoding.rs`). A shape the loader
//! found equal to one of the host's without reading it (`lockstep.rs`) is
//! made from the host's own graph on the first request.
//!
//! Holds no encoding and no comparison: those read the nodes kept here.

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

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

/// The shape of one type: every type it is made of, each once. The type
/// itself is the first node.
///
/// Two shapes are equal when their encodings are ([`as_bytes`](Self::as_bytes)):
/// one comparison of bytes.
#[derive(Clone)]
pub struct TypeShape {
    /// The nodes and their encoding, made on the first request when the
    /// shape was taken as equal to one of the host's (`make`).
    parts: Arc<OnceLock<Parts>>,
    /// Made the host's shape of a type, `TypeShape::of`, with the type's
    /// `TypeId`: set when the loader found a plugin's graph equal to the
    /// host's without reading it into nodes, so that `open` need not.
    pub(crate) make: Option<(fn() -> TypeShape, TypeId)>,
    /// A plugin's graph that `open` checked (`walk::check`) without reading
    /// it: read on the first request, or compared with the host's in
    /// lockstep first (`instantiate`).
    pub(crate) unread: Option<Arc<dyn Unread>>,
    /// The `TypeId` of the host's type an unread graph was found equal to
    /// in lockstep (`instantiate`), so that checking again is a comparison
    /// of type ids.
    pub(crate) found: Arc<OnceLock<TypeId>>,
}

/// A plugin's graph, found valid but not read into nodes.
pub(crate) trait Unread: Send + Sync {
    /// The graph read in full, as the check found it could be.
    fn read(&self) -> Result<TypeShape, String>;
    /// Whether the graph is the host's at `host`, in lockstep.
    fn equal(&self, host: super::ShapeRef) -> bool;
}

/// A shape's nodes and their encoding.
#[derive(Clone)]
pub(crate) struct Parts {
    pub(crate) nodes: Arc<[Node]>,
    /// The nodes, encoded.
    pub(crate) bytes: Arc<[u8]>,
}

impl std::fmt::Debug for TypeShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeShape")
            .field("nodes", &self.parts().nodes)
            .field("bytes", &self.parts().bytes)
            .finish()
    }
}

impl PartialEq for TypeShape {
    fn eq(&self, other: &Self) -> bool {
        self.parts().bytes == other.parts().bytes
    }
}

impl Eq for TypeShape {}

impl std::hash::Hash for TypeShape {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts().bytes.hash(state);
    }
}

impl TypeShape {
    /// A shape of these nodes, made now.
    pub(crate) fn made(nodes: Arc<[Node]>, bytes: Arc<[u8]>) -> Self {
        Self {
            parts: Arc::new(OnceLock::from(Parts { nodes, bytes })),
            make: None,
            unread: None,
            found: Arc::default(),
        }
    }

    /// A shape equal to the host's shape of the type `id`, made by `make`
    /// (`TypeShape::of`) on the first request.
    pub(crate) fn equal_to_host(make: fn() -> TypeShape, id: TypeId) -> Self {
        Self {
            parts: Arc::new(OnceLock::new()),
            make: Some((make, id)),
            unread: None,
            found: Arc::default(),
        }
    }

    /// A plugin's graph, checked, read by `unread` on the first request.
    pub(crate) fn unread(unread: Arc<dyn Unread>) -> Self {
        Self {
            parts: Arc::new(OnceLock::new()),
            make: None,
            unread: Some(unread),
            found: Arc::default(),
        }
    }

    /// Whether this is a plugin's graph not read yet: once read (asked for,
    /// or compared in full), comparing its bytes is cheaper than a lockstep.
    pub(crate) fn is_unread(&self) -> bool {
        self.parts.get().is_none()
    }

    /// The nodes and their encoding, read now if they were not: an error
    /// only where a graph checked at `open` no longer reads (a lazy
    /// shape's function that answers otherwise the second time).
    pub(crate) fn try_parts(&self) -> Result<&Parts, String> {
        if let (None, Some(unread)) = (self.parts.get(), &self.unread) {
            let read = unread.read()?;
            let _ = self.parts.set(read.parts().clone());
        }
        Ok(self.parts())
    }

    /// The nodes and their encoding, made now if they were not.
    pub(crate) fn parts(&self) -> &Parts {
        self.parts.get_or_init(|| match (self.make, &self.unread) {
            (Some((make, _)), _) => make().parts().clone(),
            (None, Some(unread)) => unread
                .read()
                .unwrap_or_else(|reason| {
                    panic!("a plugin's shape checked when it was opened no longer reads: {reason}")
                })
                .parts()
                .clone(),
            (None, None) => unreachable!("a shape without its parts has a way to make them"),
        })
    }

    /// Every node; the first is the type itself.
    pub fn nodes(&self) -> &[Node] {
        &self.parts().nodes
    }

    /// The type itself.
    pub fn root(&self) -> &Node {
        &self.nodes()[0]
    }

    /// The node `ty` refers to.
    ///
    /// # Panics
    /// If `ty` is not a node of this shape.
    pub fn node(&self, ty: TypeRef) -> &Node {
        &self.nodes()[ty.index()]
    }
}
