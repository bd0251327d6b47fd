//! Merging the nodes of equal types: a walk (`walk.rs`) gives each address
//! its own node, and a type may be at several (a generic type's constant
//! may be duplicated in each crate or codegen unit that uses it). Two nodes
//! are one type when they are equal in everything (kind, full name, layout,
//! `repr`, fields' names and offsets, variants' names and discriminants)
//! and their parameters' and fields' types are one type in turn, recursive
//! types included: the coarsest such partition, found by refining one by
//! name and layout until it holds (Moore's algorithm). A name alone is not
//! enough: types inside function bodies of one module, two versions of one
//! crate, or a parameter left out of a name share it and may differ.
//!
//! The merged nodes are numbered as the walk numbers them (a type, then its
//! parameters', then its fields' types, depth first, from the root), so
//! that equal types encode to equal bytes and the common graph, where no
//! two nodes share a name, comes back unchanged without being refined.
//! Holds no reading of memory.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

use super::describe::{Kind, Node, TypeRef};

type Map<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// How many node and reference visits the refinement may make in all: far
/// more than a message's types take (tens of nodes, a few rounds), and short
/// of the seconds a malformed graph of thousands of nodes, each round
/// telling one more apart, would take.
pub(crate) const MAX_WORK: usize = 1 << 24;

/// `nodes` (the root's first, every reference inside) with the nodes of
/// equal types merged.
///
/// # Errors
/// When telling the types apart would take more than [`MAX_WORK`].
pub(crate) fn equal_types(nodes: Vec<Node>) -> Result<Vec<Node>, String> {
    if !shares_a_name(&nodes) {
        return Ok(nodes);
    }
    let class = classes(&nodes)?;
    Ok(renumbered(nodes, &class))
}

/// Whether two nodes have one kind, name and layout: without such a pair,
/// no two nodes are one type.
fn shares_a_name(nodes: &[Node]) -> bool {
    let mut seen = Map::default();
    nodes.iter().any(|node| {
        let kind = std::mem::discriminant(&node.kind);
        seen.insert((kind, &node.name, node.layout), ()).is_some()
    })
}

/// Each node's type, as the index of a class: nodes of one class are one
/// type.
fn classes(nodes: &[Node]) -> Result<Vec<u32>, String> {
    let mut class = vec![0_u32; nodes.len()];
    let mut count = 1;
    let mut work = 0_usize;
    loop {
        // A node with its references replaced by their classes: equal for
        // two nodes when they are equal but for references, and their
        // references are of one class each.
        let mut next: Map<Node, u32> = Map::default();
        let mut refined = Vec::with_capacity(nodes.len());
        for node in nodes {
            work += 1 + references(node);
            if work > MAX_WORK {
                return Err(format!(
                    "telling its {} types apart would take more than {MAX_WORK} steps",
                    nodes.len()
                ));
            }
            let signature = mapped(node, |ty| TypeRef(class[ty.index()]));
            let fresh = next.len() as u32;
            refined.push(*next.entry(signature).or_insert(fresh));
        }
        let refined_count = next.len();
        class = refined;
        // Each round splits classes, never joins them: a round that splits
        // none leaves every later one the same.
        if refined_count == count {
            return Ok(class);
        }
        count = refined_count;
    }
}

/// The number of references a node holds.
fn references(node: &Node) -> usize {
    node.params.len()
        + match &node.kind {
            Kind::Struct { fields, .. } => fields.len(),
            Kind::Enum { variants, .. } => {
                variants.iter().map(|variant| variant.fields.len()).sum()
            }
            _ => 0,
        }
}

/// `node` with every reference replaced by `to(reference)`.
fn mapped(node: &Node, to: impl Fn(TypeRef) -> TypeRef) -> Node {
    let mut node = node.clone();
    for param in &mut node.params {
        *param = to(*param);
    }
    match &mut node.kind {
        Kind::Struct { fields, .. } => fields.iter_mut().for_each(|field| field.ty = to(field.ty)),
        Kind::Enum { variants, .. } => variants
            .iter_mut()
            .flat_map(|variant| variant.fields.iter_mut())
            .for_each(|field| field.ty = to(field.ty)),
        _ => {}
    }
    node
}

/// A node's references in the walk's order: parameters, then fields.
fn children(node: &Node) -> Vec<TypeRef> {
    let mut children = node.params.clone();
    match &node.kind {
        Kind::Struct { fields, .. } => children.extend(fields.iter().map(|field| field.ty)),
        Kind::Enum { variants, .. } => children.extend(
            variants
                .iter()
                .flat_map(|variant| variant.fields.iter().map(|field| field.ty)),
        ),
        _ => {}
    }
    children
}

/// One node per class, the first of each, numbered in the walk's order
/// from the root (depth first, a node before its references, in their
/// order).
fn renumbered(nodes: Vec<Node>, class: &[u32]) -> Vec<Node> {
    let classes = class
        .iter()
        .map(|&class| class as usize + 1)
        .max()
        .unwrap_or(0);
    let mut first = vec![usize::MAX; classes];
    for (index, &class) in class.iter().enumerate().rev() {
        first[class as usize] = index;
    }
    // The new number of each class, in the order a depth-first walk from
    // the root meets them: what is popped first is numbered first, and a
    // node's references are pushed last to first.
    let mut number = vec![u32::MAX; classes];
    let mut order = Vec::new();
    let mut stack = vec![0_usize];
    while let Some(index) = stack.pop() {
        let class = class[index] as usize;
        if number[class] != u32::MAX {
            continue;
        }
        number[class] = order.len() as u32;
        let representative = first[class];
        order.push(representative);
        stack.extend(
            children(&nodes[representative])
                .into_iter()
                .rev()
                .map(TypeRef::index),
        );
    }
    order
        .into_iter()
        .map(|index| {
            mapped(&nodes[index], |ty| {
                TypeRef(number[class[ty.index()] as usize])
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::shape::describe::{Field, Layout};

    fn node(name: &'static str, params: &[u32], fields: &[u32]) -> Node {
        Node {
            name: Cow::Borrowed(name),
            layout: Some(Layout { size: 8, align: 8 }),
            params: params.iter().map(|&index| TypeRef(index)).collect(),
            kind: Kind::Struct {
                repr: Cow::Borrowed(""),
                fields: fields
                    .iter()
                    .map(|&index| Field {
                        name: Cow::Borrowed("f"),
                        offset: Some(0),
                        ty: TypeRef(index),
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn a_recursive_type_at_two_addresses_is_one_type() {
        // `Tree { f: Vec<Tree> }`, its nodes read twice over.
        let nodes = vec![
            node("Tree", &[], &[1]),
            node("Vec<Tree>", &[2], &[]),
            node("Tree", &[], &[3]),
            node("Vec<Tree>", &[2], &[]),
        ];
        let once = vec![node("Tree", &[], &[1]), node("Vec<Tree>", &[0], &[])];
        assert_eq!(equal_types(nodes).unwrap(), once);
    }

    #[test]
    fn types_of_one_name_that_differ_below_stay_apart() {
        // `P { f: A, f: A' }`, `A` and `A'` one name, their fields' types
        // of one name, differing one level further down.
        let nodes = vec![
            node("P", &[], &[1, 3]),
            node("A", &[], &[2]),
            node("B", &[], &[]),
            node("A", &[], &[4]),
            node("B", &[], &[5]),
            node("u8", &[], &[]),
        ];
        assert_eq!(equal_types(nodes.clone()).unwrap(), nodes);
    }

    #[test]
    fn merged_nodes_are_numbered_as_a_walk_meets_them() {
        // The root's second field is a copy of its first's type, whose
        // parameter is met first through the copy's.
        let nodes = vec![
            node("R", &[], &[1, 2]),
            node("X", &[], &[]),
            node("A", &[3], &[]),
            node("X", &[], &[]),
        ];
        let expected = vec![
            node("R", &[], &[1, 2]),
            node("X", &[], &[]),
            node("A", &[1], &[]),
        ];
        assert_eq!(equal_types(nodes).unwrap(), expected);
    }
}
