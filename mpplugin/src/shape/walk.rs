//! Reading a static node graph (`graph.rs`) into the nodes of a
//! [`TypeShape`](super::TypeShape): the host's own graphs
//! ([`TypeShape::of`](super::TypeShape::of)) and a plugin's, in the
//! plugin's memory, through a [`Memory`] that says how each pointer is
//! read. The loader's `Memory` checks every pointer against the library's
//! image; this file checks everything else (kinds, counts, parameters, text,
//! the length of the names it composes),
//! so that a malformed graph is an error, never an endless walk, and never a
//! crash where the loader can check pointers (Linux: see `load/image.rs`).
//!
//! Names, field names and `repr`s are borrowed from the graph's memory (a
//! library is never unloaded), so that reading a graph allocates little;
//! only names with generic arguments are composed.
//!
//! Each address gets one node, in the order the old builder gave them: the
//! type, then its parameters' types, then its fields' types, depth first. A
//! node met again at the same address is the node it already has: that is
//! what makes recursive types terminate. Nodes at other addresses are then
//! merged when their types are equal (`merge.rs`: a generic type's constant
//! may be duplicated), so that equal types encode to equal bytes on both
//! sides and two types of one name that differ stay two nodes.
//!
//! The one `unsafe` here is [`Own`], the reading of a graph made in this
//! process by safe code.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

use super::describe::{Field, Kind, Layout, Node, TypeRef, Variant};
use super::graph::{
    self, ARRAY, ENUM, FUNCTION, LEAF, OPAQUE, PATH, PATH_HIDDEN_LAST, REFERENCE, SLICE, STRUCT,
    ShapeRef, StaticField, StaticNode, StaticSlice, StaticText, TUPLE,
};
use super::merge;
use crate::abi::StrRef;

/// More types than one message is made of: a graph of more is refused.
pub(crate) const MAX_NODES: usize = 1 << 12;
/// More fields, variants or parameters than one type has, and more bytes
/// than one name takes.
pub(crate) const MAX_ITEMS: usize = 1 << 16;
/// How deep a walk goes: far beyond any type written by hand, and short of
/// the stack's end for graphs made to be deep.
pub(crate) const MAX_DEPTH: usize = 256;
/// How many references a walk follows in all, met again or not.
pub(crate) const MAX_REFERENCES: usize = 1 << 20;
/// The longest full name of a type, in bytes: a name is composed from its
/// parameters' names, which a malformed graph could make grow with each level.
pub(crate) const MAX_NAME: usize = 1 << 16;
/// How many bytes of names a walk composes in all.
pub(crate) const MAX_NAMES: usize = 1 << 22;

/// How a walk reads the memory a graph is in. Every method either returns
/// data that lives for the rest of the process, or says why it cannot.
pub(crate) trait Memory {
    /// The node at `node`.
    fn node(&mut self, node: *const StaticNode) -> Result<&'static StaticNode, String>;
    /// The `len` items at `ptr`; `len` is at most [`MAX_ITEMS`].
    fn slice<T>(&mut self, slice: StaticSlice<T>) -> Result<&'static [T], String>;
    /// Calls a lazy shape's function.
    fn lazy(&mut self, lazy: extern "C" fn() -> ShapeRef) -> Result<ShapeRef, String>;
    /// Calls an opaque type's name function.
    fn type_name(&mut self, name: extern "C" fn() -> StrRef) -> Result<StaticText, String>;
}

/// This process's own graphs: made by safe code through `graph.rs`'s
/// constructors, which take `&'static` data only.
pub(crate) struct Own;

impl Memory for Own {
    fn node(&mut self, node: *const StaticNode) -> Result<&'static StaticNode, String> {
        // SAFETY: a `ShapeRef` made in safe code holds either a null pointer
        // (with a lazy function, resolved before a node is read; the walk
        // refuses null) or a `&'static StaticNode` of this process.
        Ok(unsafe { &*node })
    }

    fn slice<T>(&mut self, slice: StaticSlice<T>) -> Result<&'static [T], String> {
        // SAFETY: a `StaticSlice` made in safe code is a `&'static [T]`
        // taken apart (`StaticSlice::new`).
        Ok(unsafe { std::slice::from_raw_parts(slice.ptr, slice.len) })
    }

    fn lazy(&mut self, lazy: extern "C" fn() -> ShapeRef) -> Result<ShapeRef, String> {
        Ok(lazy())
    }

    fn type_name(&mut self, name: extern "C" fn() -> StrRef) -> Result<StaticText, String> {
        // Only `graph.rs`'s `type_name_of` is ever set here: a string
        // literal of this process.
        let name = name();
        // SAFETY: as above, a `&'static str` taken apart.
        Ok(unsafe { StaticSlice::from_raw_parts(name.ptr, name.len) })
    }
}

/// The nodes of the graph at `root`, the root's first.
///
/// # Errors
/// What is malformed, in words, for a plugin's graph; never for a graph of
/// this process's own types below the limits.
pub(crate) fn nodes(root: ShapeRef, memory: &mut impl Memory) -> Result<Vec<Node>, String> {
    let mut walk = Walk::new(memory, true);
    walk.visit(root, 0)?;
    let nodes: Vec<Node> = walk
        .nodes
        .into_iter()
        .map(|node| node.expect("every reserved node is read before `visit` returns"))
        .collect();
    merge::equal_types(nodes)
}

/// Whether [`nodes`] would read the graph at `root`, refusing it with the
/// same error if not, without making its nodes, names or encoding: the same
/// walk, every pointer, bound and text checked as [`nodes`] checks them, with
/// names counted rather than composed. `open` checks a plugin's graph so and
/// reads it only when asked (`PluginInfo`) or when it is not the host's.
///
/// Merging equal types (`merge.rs`) may refuse a graph of many types too;
/// where its bound could be met (far more types and references than any
/// message has), the graph is read in full to answer as [`nodes`] does.
///
/// # Errors
/// The error [`nodes`] returns for this graph.
pub(crate) fn check(root: ShapeRef, memory: &mut impl Memory) -> Result<(), String> {
    let mut walk = Walk::new(memory, false);
    walk.visit(root, 0)?;
    // Each round of the merge does one step per node and reference, and
    // there are at most as many rounds as nodes.
    let (count, references) = (walk.count, walk.held);
    if count.saturating_mul(count.saturating_add(references)) > merge::MAX_WORK {
        return nodes(root, walk.memory).map(drop);
    }
    Ok(())
}

/// A name: borrowed from the graph's memory (which lives for the rest of the
/// process: a library is never unloaded) unless it had to be composed.
type Name = Cow<'static, str>;

/// A `HashMap` with fixed keys: a fresh plugin's first `HashMap` with
/// `RandomState` would ask the kernel for random keys, and what is hashed
/// here is no one's choice but the graph's (a malformed graph may make
/// collisions; it is bounded by [`MAX_REFERENCES`] all the same).
type Map<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// A type's full name as a walk knows it: the name itself when the walk
/// builds nodes, its length (and whether it is `()`, which a function's
/// name leaves out) when it only checks.
#[derive(Clone)]
enum Named {
    Text(Name),
    Counted { len: usize, unit: bool },
}

impl Named {
    fn len(&self) -> usize {
        match self {
            Named::Text(name) => name.len(),
            Named::Counted { len, .. } => *len,
        }
    }

    fn is_unit(&self) -> bool {
        match self {
            Named::Text(name) => name == "()",
            Named::Counted { unit, .. } => *unit,
        }
    }

    fn text(self) -> Name {
        match self {
            Named::Text(name) => name,
            Named::Counted { .. } => unreachable!("a walk that builds nodes composes names"),
        }
    }
}

/// The length of `names` joined with `, `.
fn joined(names: &[Named]) -> usize {
    names
        .iter()
        .map(|name| name.len() + 2)
        .sum::<usize>()
        .saturating_sub(2)
}

struct Walk<'m, M> {
    memory: &'m mut M,
    /// Whether nodes and names are made (`nodes`) or only checked (`check`).
    build: bool,
    nodes: Vec<Option<Node>>,
    /// Addresses met, as nodes (`nodes.len()` when building).
    count: usize,
    /// References held by the nodes met (the merge's work per round).
    held: usize,
    /// Maps, not lists: a malformed graph may hold thousands of addresses
    /// (zeroed memory is a node every 8 bytes), and a list searched at each
    /// would make the walk quadratic.
    addresses: Map<*const StaticNode, TypeRef>,
    /// Full names made so far.
    names: Map<*const StaticNode, Named>,
    references: usize,
    /// Bytes of names composed so far.
    composed: usize,
}

impl<'m, M: Memory> Walk<'m, M> {
    fn new(memory: &'m mut M, build: bool) -> Self {
        Walk {
            memory,
            build,
            nodes: Vec::new(),
            count: 0,
            held: 0,
            addresses: Map::default(),
            names: Map::default(),
            references: 0,
            composed: 0,
        }
    }

    fn resolve(&mut self, shape: ShapeRef) -> Result<*const StaticNode, String> {
        self.references += 1;
        if self.references > MAX_REFERENCES {
            return Err(format!(
                "it refers to types more than {MAX_REFERENCES} times"
            ));
        }
        let shape = match shape.lazy {
            Some(lazy) => {
                let found = self.memory.lazy(lazy)?;
                if found.lazy.is_some() {
                    return Err("a lazy shape's function returned another lazy shape".to_owned());
                }
                found
            }
            None => shape,
        };
        if shape.node.is_null() {
            return Err("a node pointer is null".to_owned());
        }
        Ok(shape.node)
    }

    fn items<T>(&mut self, slice: StaticSlice<T>, what: &str) -> Result<&'static [T], String> {
        if slice.len > MAX_ITEMS {
            return Err(format!(
                "{what} claims {} items, more than the {MAX_ITEMS} a type may have",
                slice.len
            ));
        }
        if slice.len == 0 {
            return Ok(&[]);
        }
        self.memory
            .slice(slice)
            .map_err(|error| format!("{what}: {error}"))
    }

    fn text(&mut self, text: StaticText, what: &str) -> Result<&'static str, String> {
        let bytes = self.items(text, what)?;
        std::str::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8"))
    }

    /// The node at `address`, its parts that need no other node checked.
    fn node(&mut self, address: *const StaticNode) -> Result<&'static StaticNode, String> {
        let node = self.memory.node(address)?;
        if node.kind > ENUM {
            return Err(format!("a node has the unknown kind {}", node.kind));
        }
        if node.form > PATH_HIDDEN_LAST || (node.form != PATH && node.kind != LEAF) {
            return Err(format!(
                "a node of kind {} has the unknown name form {}",
                node.kind, node.form
            ));
        }
        match node.sized {
            0 if matches!(node.kind, OPAQUE | STRUCT | ENUM) => {
                return Err("an opaque type, struct or enum without a layout".to_owned());
            }
            0 => {}
            1 if !node.align.is_power_of_two() => {
                return Err(format!("alignment {} is not a power of two", node.align));
            }
            1 => {}
            other => return Err(format!("a node has the unknown layout marker {other}")),
        }
        if (node.kind == OPAQUE) != node.type_name.is_some() {
            return Err(
                "a name function on a type that is not opaque, or an opaque type without one"
                    .to_owned(),
            );
        }
        if node.kind == OPAQUE && node.params.len != 0 {
            return Err("an opaque type with parameters".to_owned());
        }
        Ok(node)
    }

    /// The type's full name: `alloc::vec::Vec<my::Msg>`, `[u8; 4]`; only
    /// counted when the walk does not build nodes.
    fn name(&mut self, address: *const StaticNode, depth: usize) -> Result<Named, String> {
        if let Some(name) = self.names.get(&address) {
            return Ok(name.clone());
        }
        if depth > MAX_DEPTH {
            return Err(format!(
                "type parameters nested more than {MAX_DEPTH} deep (a cycle of parameters?)"
            ));
        }
        let node = self.node(address)?;
        let base = match node.type_name {
            Some(type_name) => {
                let text = self.memory.type_name(type_name)?;
                self.text(text, "an opaque type's name")?
            }
            None => self.text(node.name, "a type's name")?,
        };
        let consts = self.items(node.consts, "a type's constants")?;
        // What the name will take, checked before it is made and as each
        // parameter's name is added (not once all are copied: thousands of
        // names near the bound would be gigabytes): a name is its base, its
        // parameters' names and constants, and separators.
        let too_long = || format!("a type's name would take more than {MAX_NAME} bytes");
        let mut length = base.len() + 24 * consts.len() + 8;
        if length > MAX_NAME {
            return Err(too_long());
        }
        let mut params = Vec::new();
        for &param in self.items(node.params, "a type's parameters")? {
            let param = self.resolve(param)?;
            let param = self.name(param, depth + 1)?;
            length = length.saturating_add(param.len() + 2);
            if length > MAX_NAME {
                return Err(too_long());
            }
            params.push(param);
        }
        let one = |params: &[Named]| match params {
            [one] => Ok(one.clone()),
            _ => Err(format!(
                "a `{}` name takes one parameter, not {}",
                form_name(node.form),
                params.len()
            )),
        };
        // The name's parts, each checked as the name is: what a counting
        // walk refuses, a building walk refuses in the same words.
        let name = match node.form {
            PATH if params.is_empty() && consts.is_empty() => Composed::Base,
            PATH => {
                if consts.len() % 2 != 0 {
                    return Err(format!(
                        "a type's constants are {} words, not pairs of them",
                        consts.len()
                    ));
                }
                Composed::Path
            }
            PATH_HIDDEN_LAST => match params.split_last() {
                Some((_, [])) => Composed::Base,
                Some(_) => Composed::HiddenLast,
                None => return Err("a type without the parameter its name leaves out".to_owned()),
            },
            TUPLE if !params.is_empty() => Composed::Tuple,
            TUPLE => return Err("a tuple without parameters".to_owned()),
            ARRAY => match consts {
                [len] => Composed::Array(one(&params)?, *len),
                _ => return Err("an array without its one length".to_owned()),
            },
            SLICE => Composed::Slice(one(&params)?),
            REFERENCE => Composed::Reference(one(&params)?),
            FUNCTION if !params.is_empty() => Composed::Function,
            FUNCTION => return Err("a function type without its return type".to_owned()),
            other => return Err(format!("a node has the unknown name form {other}")),
        };
        let borrowed = matches!(name, Composed::Base);
        let name = if self.build {
            Named::Text(name.text(base, consts, params))
        } else {
            name.counted(base, consts, &params)
        };
        if !borrowed {
            self.composed += name.len();
            if self.composed > MAX_NAMES {
                return Err(format!(
                    "its types' names would take more than {MAX_NAMES} bytes"
                ));
            }
        }
        self.names.insert(address, name.clone());
        Ok(name)
    }

    fn visit(&mut self, shape: ShapeRef, depth: usize) -> Result<TypeRef, String> {
        if depth > MAX_DEPTH {
            return Err(format!("types nested more than {MAX_DEPTH} deep"));
        }
        let address = self.resolve(shape)?;
        if let Some(&known) = self.addresses.get(&address) {
            return Ok(known);
        }
        // Each address is its own node until the walk is done (`merge.rs`
        // merges those of equal types then): the bound on nodes is one on
        // addresses, so a malformed graph of one identity at a million
        // addresses (zeroed memory is a node every 8 bytes) is not read whole.
        if self.count >= MAX_NODES {
            return Err(format!("more than {MAX_NODES} types"));
        }
        let node = self.node(address)?;
        let name = self.name(address, 0)?;
        let layout = (node.sized == 1).then_some(Layout {
            size: node.size,
            align: node.align,
        });
        let reserved = TypeRef(self.count as u32);
        self.count += 1;
        if self.build {
            self.nodes.push(None);
        }
        self.addresses.insert(address, reserved);

        let mut params = Vec::new();
        for &param in self.items(node.params, "a type's parameters")? {
            self.held += 1;
            let param = self.visit(param, depth + 1)?;
            if self.build {
                params.push(param);
            }
        }
        let kind = match node.kind {
            LEAF => Kind::Leaf,
            OPAQUE => Kind::Opaque,
            STRUCT => Kind::Struct {
                repr: Cow::Borrowed(self.text(node.repr, "a repr")?),
                fields: self.fields(node.fields, true, depth)?,
            },
            _ => {
                let repr = Cow::Borrowed(self.text(node.repr, "a repr")?);
                let mut variants = Vec::new();
                for variant in self.items(node.variants, "an enum's variants")? {
                    let variant = Variant {
                        name: Cow::Borrowed(self.text(variant.name, "a variant's name")?),
                        discriminant: graph::discriminant(variant.discriminant),
                        fields: self.fields(variant.fields, false, depth)?,
                    };
                    if self.build {
                        variants.push(variant);
                    }
                }
                Kind::Enum { repr, variants }
            }
        };
        if self.build {
            self.nodes[reserved.index()] = Some(Node {
                name: name.text(),
                layout,
                params,
                kind,
            });
        }
        Ok(reserved)
    }

    /// The fields, read; checked only (and none returned) when the walk
    /// does not build nodes.
    fn fields(
        &mut self,
        fields: StaticSlice<StaticField>,
        in_struct: bool,
        depth: usize,
    ) -> Result<Vec<Field>, String> {
        let mut read = Vec::new();
        for field in self.items(fields, "a type's fields")? {
            if field.has_offset != u32::from(in_struct) {
                return Err(if in_struct {
                    "a struct's field without an offset".to_owned()
                } else {
                    "a variant's field with an offset".to_owned()
                });
            }
            self.held += 1;
            let field = Field {
                name: Cow::Borrowed(self.text(field.name, "a field's name")?),
                offset: in_struct.then_some(field.offset),
                ty: self.visit(field.ty, depth + 1)?,
            };
            if self.build {
                read.push(field);
            }
        }
        Ok(read)
    }
}

/// How a checked name is made from its base, constants and parameters.
enum Composed {
    /// The base alone, borrowed.
    Base,
    /// `base<params, constants>`.
    Path,
    /// `base<params but the last>`.
    HiddenLast,
    /// `(a,)`, `(a, b)`.
    Tuple,
    /// `[T; len]`.
    Array(Named, u64),
    /// `[T]`.
    Slice(Named),
    /// `&T`.
    Reference(Named),
    /// `fn(inputs) -> output`, the output first among the parameters.
    Function,
}

impl Composed {
    /// The name itself.
    fn text(self, base: &'static str, consts: &[u64], params: Vec<Named>) -> Name {
        let params: Vec<Name> = params.into_iter().map(Named::text).collect();
        match self {
            Composed::Base => Cow::Borrowed(base),
            Composed::Path => {
                let arguments: Vec<Name> = params
                    .into_iter()
                    .chain(
                        consts
                            .chunks(2)
                            .map(|words| Cow::Owned(constant(words[0], words[1]))),
                    )
                    .collect();
                Cow::Owned(format!("{base}<{}>", arguments.join(", ")))
            }
            Composed::HiddenLast => {
                Cow::Owned(format!("{base}<{}>", params[..params.len() - 1].join(", ")))
            }
            Composed::Tuple if params.len() == 1 => Cow::Owned(format!("({},)", params[0])),
            Composed::Tuple => Cow::Owned(format!("({})", params.join(", "))),
            Composed::Array(one, len) => Cow::Owned(format!("[{}; {len}]", one.text())),
            Composed::Slice(one) => Cow::Owned(format!("[{}]", one.text())),
            Composed::Reference(one) => Cow::Owned(format!("&{}", one.text())),
            Composed::Function => {
                let (output, inputs) = params.split_first().expect("checked: a return type");
                if output == "()" {
                    Cow::Owned(format!("fn({})", inputs.join(", ")))
                } else {
                    Cow::Owned(format!("fn({}) -> {output}", inputs.join(", ")))
                }
            }
        }
    }

    /// The name's length, as [`text`](Self::text) would make it.
    fn counted(self, base: &'static str, consts: &[u64], params: &[Named]) -> Named {
        let len = match self {
            Composed::Base => {
                return Named::Counted {
                    len: base.len(),
                    unit: base == "()",
                };
            }
            Composed::Path => {
                let constants: usize = consts
                    .chunks(2)
                    .map(|words| constant(words[0], words[1]).len() + 2)
                    .sum();
                let arguments = if params.is_empty() {
                    constants.saturating_sub(2)
                } else {
                    joined(params) + constants
                };
                base.len() + 2 + arguments
            }
            Composed::HiddenLast => base.len() + 2 + joined(&params[..params.len() - 1]),
            Composed::Tuple if params.len() == 1 => params[0].len() + 3,
            Composed::Tuple => joined(params) + 2,
            Composed::Array(one, len) => one.len() + 4 + len.to_string().len(),
            Composed::Slice(one) => one.len() + 2,
            Composed::Reference(one) => one.len() + 1,
            Composed::Function => {
                let (output, inputs) = params.split_first().expect("checked: a return type");
                let arrow = if output.is_unit() {
                    0
                } else {
                    4 + output.len()
                };
                4 + joined(inputs) + arrow
            }
        };
        Named::Counted { len, unit: false }
    }
}

/// A const generic argument from its low and high words: signed where its
/// high word is all ones (a negative value of a signed type, as `as u128`
/// extends it), unsigned otherwise. The same bits print the same on both
/// sides; which a value is read as only changes how it prints.
fn constant(low: u64, high: u64) -> String {
    let value = (u128::from(high) << 64) | u128::from(low);
    if high == u64::MAX {
        (value as i128).to_string()
    } else {
        value.to_string()
    }
}

fn form_name(form: u32) -> &'static str {
    match form {
        ARRAY => "[T; N]",
        SLICE => "[T]",
        REFERENCE => "&T",
        _ => "?",
    }
}

#[cfg(test)]
mod tests;
