//! Whether a plugin's shape graph is the host's own graph of the same type,
//! decided by walking both together, node beside node, without reading
//! either into a [`TypeShape`](super::TypeShape): no names composed, no
//! nodes allocated, nothing encoded. The loader's common case (the plugin
//! was built from the same types) then costs the reads of the plugin's
//! graph and nothing more.
//!
//! The answer is "yes" only when reading the plugin's graph (`walk.rs`)
//! would succeed and give the same encoding as the host's: every pointer of
//! the plugin's graph is read through the same [`Memory`] (the loader's
//! checks every one against the library's image), every part the walk reads
//! is compared with the host's (which the host's own walk accepted), and
//! nothing else is read. A pair of nodes met again (a recursive type) adds
//! nothing. The pairs compared form a relation between the two graphs in
//! which every pair agrees in everything the walk reads, and whose pairs'
//! parameters and fields are pairs again: each plugin node is the type of
//! its host node in the sense of `merge.rs`, so the merged nodes of both
//! graphs, numbered from the root in the same order, are the same, and so
//! are their encodings. (The lockstep is stricter than the merge only where
//! a graph not made by mpplugin's constructors names one type in two ways:
//! then it says "no".)
//!
//! Anything else is "no": a difference, a pointer the image refuses, or a
//! graph larger than the lockstep follows (more than [`MAX_PAIRS`] pairs,
//! [`MAX_DEPTH`] deep). "No" decides nothing: the caller reads the graph as
//! before, which says what differs, or what is malformed, in the same words
//! as ever. Holds no `unsafe`: reading is [`Memory`]'s.

use super::graph::{ENUM, STRUCT, ShapeRef, StaticField, StaticNode, StaticSlice};
use super::walk::{MAX_REFERENCES, Memory, Own};

/// How many pairs of nodes the lockstep compares before it leaves the
/// question to the walk. At most this many addresses of the plugin's graph
/// are met, each with a name no longer than the host's (which passed the
/// walk's limit of 64 KiB), so the names the walk would compose stay within
/// its 4 MiB for all of them.
pub(crate) const MAX_PAIRS: usize = 64;
/// How deep the lockstep goes: within the walk's limit.
pub(crate) const MAX_DEPTH: usize = 64;

/// Whether the plugin's graph at `plugin`, read through `memory`, is the
/// host's graph at `host` (a graph of this process, read as
/// [`TypeShape::of`](super::TypeShape::of) reads it): `true` only if
/// reading the plugin's graph would succeed with the same encoding.
pub(crate) fn equal(host: ShapeRef, plugin: ShapeRef, memory: &mut impl Memory) -> bool {
    let mut lockstep = Lockstep {
        memory,
        pairs: Vec::new(),
        references: 0,
    };
    lockstep.shapes(host, plugin, 0).is_some()
}

/// `Some` while the graphs agree; `None` once they differ or the lockstep
/// cannot say.
type Same = Option<()>;

fn same(agree: bool) -> Same {
    agree.then_some(())
}

struct Lockstep<'m, M> {
    memory: &'m mut M,
    /// Pairs (host node, plugin node) compared or being compared. A list:
    /// a shape has tens of types.
    pairs: Vec<(*const StaticNode, *const StaticNode)>,
    /// References followed on the plugin's side.
    references: usize,
}

impl<M: Memory> Lockstep<'_, M> {
    fn host(shape: ShapeRef) -> Option<*const StaticNode> {
        let shape = match shape.lazy {
            Some(lazy) => Own.lazy(lazy).ok()?,
            None => shape,
        };
        (shape.lazy.is_none() && !shape.node.is_null()).then_some(shape.node)
    }

    fn plugin(&mut self, shape: ShapeRef) -> Option<*const StaticNode> {
        // The walk follows each reference at most twice (for the type, and
        // for its name) where the lockstep follows it once.
        self.references += 1;
        if self.references > MAX_REFERENCES / 2 {
            return None;
        }
        let shape = match shape.lazy {
            Some(lazy) => self.memory.lazy(lazy).ok()?,
            None => shape,
        };
        (shape.lazy.is_none() && !shape.node.is_null()).then_some(shape.node)
    }

    /// The host's items and the plugin's, if there are as many.
    fn items<T>(
        &mut self,
        host: StaticSlice<T>,
        plugin: StaticSlice<T>,
    ) -> Option<(&'static [T], &'static [T])> {
        if host.len != plugin.len {
            return None;
        }
        if host.len == 0 {
            return Some((&[], &[]));
        }
        Some((Own.slice(host).ok()?, self.memory.slice(plugin).ok()?))
    }

    /// Whether two texts (or lists of constants) are the same bytes.
    fn same_items<T: PartialEq>(&mut self, host: StaticSlice<T>, plugin: StaticSlice<T>) -> Same {
        let (host, plugin) = self.items(host, plugin)?;
        same(host == plugin)
    }

    fn shapes(&mut self, host: ShapeRef, plugin: ShapeRef, depth: usize) -> Same {
        if depth > MAX_DEPTH {
            return None;
        }
        let host = Self::host(host)?;
        let plugin = self.plugin(plugin)?;
        if self.pairs.contains(&(host, plugin)) {
            return Some(());
        }
        if self.pairs.len() >= MAX_PAIRS {
            return None;
        }
        self.pairs.push((host, plugin));
        let (h, p) = (Own.node(host).ok()?, self.memory.node(plugin).ok()?);
        // The parts `walk.rs` checks on their own: equal to the host's,
        // which passed, they pass.
        same(h.kind == p.kind && h.form == p.form && h.sized == p.sized)?;
        same(h.sized == 0 || (h.size, h.align) == (p.size, p.align))?;
        match (h.type_name, p.type_name) {
            (Some(host_name), Some(plugin_name)) => {
                let host_name = Own.type_name(host_name).ok()?;
                let plugin_name = self.memory.type_name(plugin_name).ok()?;
                self.same_items(host_name, plugin_name)?;
            }
            (None, None) => self.same_items(h.name, p.name)?,
            _ => return None,
        }
        self.same_items(h.consts, p.consts)?;
        let (host_params, plugin_params) = self.items(h.params, p.params)?;
        for (&host_param, &plugin_param) in host_params.iter().zip(plugin_params) {
            self.shapes(host_param, plugin_param, depth + 1)?;
        }
        match h.kind {
            STRUCT => {
                self.same_items(h.repr, p.repr)?;
                self.fields(h.fields, p.fields, depth)
            }
            ENUM => {
                self.same_items(h.repr, p.repr)?;
                let (host_variants, plugin_variants) = self.items(h.variants, p.variants)?;
                for (hv, pv) in host_variants.iter().zip(plugin_variants) {
                    self.same_items(hv.name, pv.name)?;
                    same(hv.discriminant == pv.discriminant)?;
                    self.fields(hv.fields, pv.fields, depth)?;
                }
                Some(())
            }
            _ => Some(()),
        }
    }

    fn fields(
        &mut self,
        host: StaticSlice<StaticField>,
        plugin: StaticSlice<StaticField>,
        depth: usize,
    ) -> Same {
        let (host, plugin) = self.items(host, plugin)?;
        for (hf, pf) in host.iter().zip(plugin) {
            same(hf.has_offset == pf.has_offset)?;
            // A variant's field's offset is not read.
            same(hf.has_offset == 0 || hf.offset == pf.offset)?;
            self.same_items(hf.name, pf.name)?;
            self.shapes(hf.ty, pf.ty, depth + 1)?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::describe::Layout;
    use crate::shape::graph::StaticVariant;
    use crate::shape::{Shape, TypeShape, walk};

    const WORD: Layout = Layout::of::<u64>();

    /// What the full comparison says: the walk's reading of both graphs,
    /// encoded, compared.
    fn encodings_equal(host: ShapeRef, plugin: ShapeRef) -> bool {
        let read = |root| TypeShape::from_nodes(walk::nodes(root, &mut Own).unwrap());
        read(host).as_bytes() == read(plugin).as_bytes()
    }

    /// The lockstep's answer, checked against the full comparison's.
    fn lockstep(host: &'static StaticNode, plugin: &'static StaticNode) -> bool {
        let (host, plugin) = (ShapeRef::new(host), ShapeRef::new(plugin));
        let answer = equal(host, plugin, &mut Own);
        assert_eq!(
            answer,
            encodings_equal(host, plugin),
            "the lockstep and the full comparison disagree"
        );
        answer
    }

    macro_rules! structure {
        ($name:ident = $path:literal { $($field:literal @ $offset:literal : $ty:expr),* $(,)? }) => {
            static $name: StaticNode = StaticNode::structure(
                $path,
                WORD,
                "",
                &[],
                &[],
                &[$(StaticField::new($field, $offset, $ty)),*],
            );
        };
    }

    macro_rules! leaf {
        ($name:ident = $path:literal [$($param:expr),*]) => {
            static $name: StaticNode = StaticNode::leaf($path, Some(WORD), &[$($param),*]);
        };
    }

    const fn to(node: &'static StaticNode) -> ShapeRef {
        ShapeRef::new(node)
    }

    // One message type, twice at different addresses, and drifted twice:
    // a nested field's type, and two fields swapped.
    structure!(INNER_A = "t::Inner" { "scale" @ 0: u32::SHAPE });
    structure!(INNER_B = "t::Inner" { "scale" @ 0: u32::SHAPE });
    structure!(INNER_FLOAT = "t::Inner" { "scale" @ 0: f32::SHAPE });
    structure!(MSG_A = "t::Msg" { "count" @ 0: u64::SHAPE, "inner" @ 8: to(&INNER_A) });
    structure!(MSG_B = "t::Msg" { "count" @ 0: u64::SHAPE, "inner" @ 8: to(&INNER_B) });
    structure!(MSG_NESTED = "t::Msg" { "count" @ 0: u64::SHAPE, "inner" @ 8: to(&INNER_FLOAT) });
    structure!(MSG_SWAPPED = "t::Msg" { "inner" @ 0: to(&INNER_B), "count" @ 8: u64::SHAPE });
    structure!(MSG_MOVED = "t::Msg" { "count" @ 8: u64::SHAPE, "inner" @ 0: to(&INNER_B) });
    // The same type at two addresses inside one graph: one node to the walk.
    structure!(OTHER_PATH = "u::Inner" { "scale" @ 0: u32::SHAPE });
    structure!(PAIR_ONE = "t::Pair" { "a" @ 0: to(&INNER_A), "b" @ 8: to(&INNER_A) });
    structure!(PAIR_TWO = "t::Pair" { "a" @ 0: to(&INNER_A), "b" @ 8: to(&INNER_B) });

    #[test]
    fn equal_graphs_at_other_addresses_are_equal() {
        assert!(lockstep(&MSG_A, &MSG_A));
        assert!(lockstep(&MSG_A, &MSG_B));
        assert!(lockstep(&PAIR_ONE, &PAIR_TWO));
        assert!(lockstep(&PAIR_TWO, &PAIR_ONE));
    }

    #[test]
    fn drifted_graphs_are_not() {
        assert!(!lockstep(&MSG_A, &MSG_NESTED));
        assert!(!lockstep(&MSG_A, &MSG_SWAPPED));
        assert!(!lockstep(&MSG_A, &MSG_MOVED));
        assert!(!lockstep(&INNER_A, &MSG_A));
        assert!(!lockstep(&INNER_A, &OTHER_PATH));
    }

    static OP_A: StaticNode = StaticNode::enumeration(
        "t::Op",
        WORD,
        "",
        &[],
        &[],
        &[
            StaticVariant::new("Add", 0, &[StaticField::in_variant("0", u64::SHAPE)]),
            StaticVariant::new("Sub", 1, &[StaticField::in_variant("0", u64::SHAPE)]),
        ],
    );
    static OP_B: StaticNode = StaticNode::enumeration(
        "t::Op",
        WORD,
        "",
        &[],
        &[],
        &[
            StaticVariant::new("Add", 0, &[StaticField::in_variant("0", u64::SHAPE)]),
            StaticVariant::new("Sub", 1, &[StaticField::in_variant("0", u64::SHAPE)]),
        ],
    );
    static OP_SWAPPED: StaticNode = StaticNode::enumeration(
        "t::Op",
        WORD,
        "",
        &[],
        &[],
        &[
            StaticVariant::new("Sub", 0, &[StaticField::in_variant("0", u64::SHAPE)]),
            StaticVariant::new("Add", 1, &[StaticField::in_variant("0", u64::SHAPE)]),
        ],
    );
    static OP_SIGNED: StaticNode = StaticNode::enumeration(
        "t::Op",
        WORD,
        "",
        &[],
        &[],
        &[
            StaticVariant::new("Add", 0, &[StaticField::in_variant("0", i64::SHAPE)]),
            StaticVariant::new("Sub", 1, &[StaticField::in_variant("0", u64::SHAPE)]),
        ],
    );

    static OP_RENUMBERED: StaticNode = StaticNode::enumeration(
        "t::Op",
        WORD,
        "",
        &[],
        &[],
        &[
            StaticVariant::new("Add", 0, &[StaticField::in_variant("0", u64::SHAPE)]),
            StaticVariant::new("Sub", 2, &[StaticField::in_variant("0", u64::SHAPE)]),
        ],
    );

    #[test]
    fn enums_compare_variants_in_order() {
        assert!(!lockstep(&OP_A, &OP_RENUMBERED));
        assert!(lockstep(&OP_A, &OP_B));
        assert!(!lockstep(&OP_A, &OP_SWAPPED));
        assert!(!lockstep(&OP_A, &OP_SIGNED));
    }

    // A type that contains itself: `List { next: Option<Box<List>> }`, and a
    // drifted one whose recursion meets a changed field.
    structure!(LIST_A = "t::List" { "next" @ 0: to(&OPTION_A) });
    leaf!(OPTION_A = "core::option::Option"[to(&BOX_A)]);
    leaf!(BOX_A = "alloc::boxed::Box"[to(&LIST_A)]);
    structure!(LIST_B = "t::List" { "next" @ 0: to(&OPTION_B) });
    leaf!(OPTION_B = "core::option::Option"[to(&BOX_B)]);
    leaf!(BOX_B = "alloc::boxed::Box"[to(&LIST_B)]);
    // Its first node is `List` as above; the `List` inside the box has a
    // field of another name.
    structure!(LIST_OUTER = "t::List" { "next" @ 0: to(&OPTION_INNER) });
    leaf!(OPTION_INNER = "core::option::Option"[to(&BOX_INNER)]);
    leaf!(BOX_INNER = "alloc::boxed::Box"[to(&LIST_INNER)]);
    structure!(LIST_INNER = "t::List" { "rest" @ 0: to(&OPTION_INNER) });

    #[test]
    fn a_type_that_contains_itself_terminates() {
        assert!(lockstep(&LIST_A, &LIST_A));
        assert!(lockstep(&LIST_A, &LIST_B));
        assert!(lockstep(&LIST_B, &LIST_A));
    }

    #[test]
    fn a_difference_met_through_recursion_is_found() {
        assert!(!lockstep(&LIST_INNER, &LIST_A));
        // The outer `List` is `LIST_A`'s; the one inside its box has a field
        // of another name: two types of one name, two nodes to the walk.
        assert!(!lockstep(&LIST_A, &LIST_OUTER));
        assert!(!lockstep(&LIST_OUTER, &LIST_B));
    }

    // Two types that contain each other: `A { b: Box<B> }`,
    // `B { a: Option<Box<A>> }`.
    structure!(MUTUAL_A1 = "t::A" { "b" @ 0: to(&BOX_B1) });
    leaf!(BOX_B1 = "alloc::boxed::Box"[to(&MUTUAL_B1)]);
    structure!(MUTUAL_B1 = "t::B" { "a" @ 0: to(&OPTION_A1) });
    leaf!(OPTION_A1 = "core::option::Option"[to(&BOX_A1)]);
    leaf!(BOX_A1 = "alloc::boxed::Box"[to(&MUTUAL_A1)]);
    structure!(MUTUAL_A2 = "t::A" { "b" @ 0: to(&BOX_B2) });
    leaf!(BOX_B2 = "alloc::boxed::Box"[to(&MUTUAL_B2)]);
    structure!(MUTUAL_B2 = "t::B" { "a" @ 0: to(&OPTION_A2) });
    leaf!(OPTION_A2 = "core::option::Option"[to(&BOX_A2)]);
    leaf!(BOX_A2 = "alloc::boxed::Box"[to(&MUTUAL_A2)]);
    structure!(MUTUAL_A3 = "t::A" { "b" @ 0: to(&BOX_B3) });
    leaf!(BOX_B3 = "alloc::boxed::Box"[to(&MUTUAL_B3)]);
    structure!(MUTUAL_B3 = "t::B" { "a" @ 8: to(&OPTION_A3) });
    leaf!(OPTION_A3 = "core::option::Option"[to(&BOX_A3)]);
    leaf!(BOX_A3 = "alloc::boxed::Box"[to(&MUTUAL_A3)]);

    #[test]
    fn types_that_contain_each_other_terminate() {
        assert!(lockstep(&MUTUAL_A1, &MUTUAL_A2));
        assert!(lockstep(&MUTUAL_B2, &MUTUAL_B1));
        assert!(!lockstep(&MUTUAL_A1, &MUTUAL_A3));
        assert!(!lockstep(&MUTUAL_B3, &MUTUAL_B1));
    }

    // A generic type that contains itself through a function:
    // `Tree<u64> { kids: Vec<Tree<u64>> }`, and `Tree<u32>`.
    extern "C" fn tree_one() -> ShapeRef {
        to(&TREE_ONE)
    }
    extern "C" fn tree_two() -> ShapeRef {
        to(&TREE_TWO)
    }
    extern "C" fn tree_narrow() -> ShapeRef {
        to(&TREE_NARROW)
    }
    static TREE_ONE: StaticNode = StaticNode::structure(
        "t::Tree",
        WORD,
        "",
        &[u64::SHAPE],
        &[],
        &[StaticField::new("kids", 0, to(&KIDS_ONE))],
    );
    leaf!(KIDS_ONE = "alloc::vec::Vec"[ShapeRef::lazy(tree_one)]);
    static TREE_TWO: StaticNode = StaticNode::structure(
        "t::Tree",
        WORD,
        "",
        &[u64::SHAPE],
        &[],
        &[StaticField::new("kids", 0, to(&KIDS_TWO))],
    );
    leaf!(KIDS_TWO = "alloc::vec::Vec"[ShapeRef::lazy(tree_two)]);
    static TREE_NARROW: StaticNode = StaticNode::structure(
        "t::Tree",
        WORD,
        "",
        &[u32::SHAPE],
        &[],
        &[StaticField::new("kids", 0, to(&KIDS_NARROW))],
    );
    leaf!(KIDS_NARROW = "alloc::vec::Vec"[ShapeRef::lazy(tree_narrow)]);

    #[test]
    fn a_generic_type_that_contains_itself_lazily_terminates() {
        assert!(lockstep(&TREE_ONE, &TREE_TWO));
        assert!(lockstep(&KIDS_TWO, &KIDS_ONE));
        assert!(!lockstep(&TREE_ONE, &TREE_NARROW));
        assert!(!lockstep(&KIDS_NARROW, &KIDS_ONE));
    }

    #[test]
    fn derived_types_agree_with_their_own_graph() {
        #[derive(crate::Shape)]
        #[shape(crate = crate)]
        #[allow(dead_code)]
        struct Node {
            value: u64,
            kids: Vec<Node>,
            name: Option<String>,
        }
        let root = <Node as Shape>::SHAPE;
        assert!(equal(root, root, &mut Own));
        assert!(encodings_equal(root, root));
        assert!(!equal(root, <Vec<Node> as Shape>::SHAPE, &mut Own));
    }
}
