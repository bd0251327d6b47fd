//! Unit tests of the walk: graphs made at run time, read and checked, each
//! refusal in its words, names counted as they are composed.

use super::*;

/// A graph made at run time, freed when dropped (after the walk).
#[derive(Default)]
struct Graph {
    nodes: Vec<*mut StaticNode>,
    params: Vec<*mut [ShapeRef]>,
    consts: Vec<*mut [u64]>,
}

impl Graph {
    /// A node named `name` with these parameters.
    fn node(&mut self, name: &'static str, params: Vec<ShapeRef>) -> ShapeRef {
        self.formed(LEAF, PATH, name, params, Vec::new())
    }

    /// A node of this kind and name form, with these parameters and
    /// constants.
    fn formed(
        &mut self,
        kind: u32,
        form: u32,
        name: &'static str,
        params: Vec<ShapeRef>,
        consts: Vec<u64>,
    ) -> ShapeRef {
        let consts = Box::into_raw(consts.into_boxed_slice());
        self.consts.push(consts);
        let params = Box::into_raw(params.into_boxed_slice());
        self.params.push(params);
        // SAFETY: the pointers are live allocations of their types, which
        // the graph frees only when dropped, after the walk, as `Own`
        // requires.
        unsafe {
            let node = Box::into_raw(Box::new(StaticNode::from_raw_parts(
                LEAF,
                PATH,
                StaticSlice::new(name.as_bytes()),
                1,
                8,
                8,
                StaticSlice::from_raw_parts(params.cast::<ShapeRef>(), params.len()),
                StaticSlice::new(&[]),
                None,
            )));
            (*node).kind = kind;
            (*node).form = form;
            (*node).consts = StaticSlice::from_raw_parts(consts.cast::<u64>(), consts.len());
            self.nodes.push(node);
            ShapeRef::from_raw_parts(node, None)
        }
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        // SAFETY: each pointer came from `Box::into_raw`, freed once.
        unsafe {
            self.nodes
                .drain(..)
                .for_each(|node| drop(Box::from_raw(node)));
            self.params
                .drain(..)
                .for_each(|params| drop(Box::from_raw(params)));
            self.consts
                .drain(..)
                .for_each(|consts| drop(Box::from_raw(consts)));
        }
    }
}

#[test]
fn names_that_double_with_each_level_are_refused_not_built() {
    // Each level names the one below twice: 2^40 bytes at the top.
    let mut graph = Graph::default();
    let mut shape = graph.node("a", Vec::new());
    for _ in 0..40 {
        shape = graph.node("n", vec![shape, shape]);
    }
    let error = nodes(shape, &mut Own).unwrap_err();
    assert_eq!(
        error,
        format!("a type's name would take more than {MAX_NAME} bytes")
    );
}

#[test]
fn a_graph_within_the_limits_is_read() {
    let mut graph = Graph::default();
    let leaf = graph.node("a", Vec::new());
    let pair = graph.node("p", vec![leaf, leaf]);
    let read = nodes(pair, &mut Own).unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].name, "p<a, a>");
}

/// Each address's name as a walk knows it: its text when `build`, its
/// length and whether it is `()` when not.
fn names(root: ShapeRef, build: bool) -> Vec<(usize, usize, bool)> {
    let mut own = Own;
    let mut walk = Walk::new(&mut own, build);
    walk.visit(root, 0).expect("the graph is valid");
    let mut names: Vec<(usize, usize, bool)> = walk
        .names
        .iter()
        .map(|(&address, name)| (address as usize, name.len(), name.is_unit()))
        .collect();
    names.sort_unstable();
    names
}

/// A name of `len` bytes, for the rest of the test process.
fn long(len: usize) -> &'static str {
    Box::leak("b".repeat(len).into_boxed_str())
}

#[test]
fn the_check_counts_each_name_as_the_read_composes_it() {
    let mut graph = Graph::default();
    let a = graph.node("a", Vec::new());
    let unit = graph.node("()", Vec::new());
    let constants = vec![5, 0, u64::MAX - 6, u64::MAX, 0, 1];
    let path = graph.formed(LEAF, PATH, "p", vec![a, unit], constants);
    let only_constants = graph.formed(LEAF, PATH, "c", Vec::new(), vec![7, 0]);
    let hidden = graph.formed(LEAF, PATH_HIDDEN_LAST, "h", vec![a], Vec::new());
    let hidden_unit = graph.formed(LEAF, PATH_HIDDEN_LAST, "()", vec![a], Vec::new());
    let hidden_three = graph.formed(
        LEAF,
        PATH_HIDDEN_LAST,
        "h3",
        vec![a, path, unit],
        Vec::new(),
    );
    let single = graph.formed(LEAF, TUPLE, "", vec![a], Vec::new());
    let pair = graph.formed(LEAF, TUPLE, "", vec![a, path], Vec::new());
    let array = graph.formed(LEAF, ARRAY, "", vec![single], vec![12_345]);
    let slice = graph.formed(LEAF, SLICE, "", vec![pair], Vec::new());
    let reference = graph.formed(LEAF, REFERENCE, "", vec![slice], Vec::new());
    let returns_unit = graph.formed(LEAF, FUNCTION, "", vec![unit, a, reference], Vec::new());
    let returns_hidden_unit = graph.formed(LEAF, FUNCTION, "", vec![hidden_unit], Vec::new());
    let returns = graph.formed(LEAF, FUNCTION, "", vec![array, single, a], Vec::new());
    let root = graph.node(
        "root",
        vec![
            path,
            only_constants,
            hidden,
            hidden_three,
            returns_unit,
            returns_hidden_unit,
            returns,
        ],
    );
    let read = names(root, true);
    assert_eq!(read.len(), 16);
    assert_eq!(names(root, false), read);
    assert!(read.iter().any(|&(_, _, unit)| unit));
    assert_eq!(check(root, &mut Own), Ok(()));
}

/// The graphs of `malformed`, each refused by the read, and a few that
/// are not, each answered by the check as the read answers it.
#[test]
// Graphs at the node, depth and name bounds (thousands of nodes, megabytes
// of names) take Miri far past the CI step's budget; the smaller walk
// tests above run under it.
#[cfg_attr(miri, ignore)]
fn the_check_refuses_what_the_read_refuses_in_its_words() {
    let mut graph = Graph::default();
    let a = graph.node("a", Vec::new());
    let mut cases: Vec<(&str, ShapeRef)> = vec![
        (
            "a tuple without parameters",
            graph.formed(LEAF, TUPLE, "", Vec::new(), Vec::new()),
        ),
        (
            "an array without its length",
            graph.formed(LEAF, ARRAY, "", vec![a], Vec::new()),
        ),
        (
            "an array of two types",
            graph.formed(LEAF, ARRAY, "", vec![a, a], vec![3]),
        ),
        (
            "a slice of nothing",
            graph.formed(LEAF, SLICE, "", Vec::new(), Vec::new()),
        ),
        (
            "a reference to two types",
            graph.formed(LEAF, REFERENCE, "", vec![a, a], Vec::new()),
        ),
        (
            "a function without its output",
            graph.formed(LEAF, FUNCTION, "", Vec::new(), Vec::new()),
        ),
        (
            "constants not in pairs",
            graph.formed(LEAF, PATH, "p", vec![a], vec![1, 0, 2]),
        ),
        (
            "a hidden parameter missing",
            graph.formed(LEAF, PATH_HIDDEN_LAST, "h", Vec::new(), Vec::new()),
        ),
        (
            "an unknown form",
            graph.formed(LEAF, 9, "", vec![a], Vec::new()),
        ),
        (
            "an unknown kind",
            graph.formed(ENUM + 1, PATH, "k", Vec::new(), Vec::new()),
        ),
        (
            "a tuple form on a struct",
            graph.formed(STRUCT, TUPLE, "", vec![a], Vec::new()),
        ),
        (
            "a null node",
            ShapeRef {
                node: std::ptr::null(),
                lazy: None,
            },
        ),
    ];
    // Names that double with each level.
    let mut doubling = a;
    for _ in 0..40 {
        doubling = graph.node("n", vec![doubling, doubling]);
    }
    cases.push(("a name too long", doubling));
    // Parameters nested too deep.
    let mut deep = a;
    for _ in 0..=MAX_DEPTH + 1 {
        deep = graph.node("d", vec![deep]);
    }
    cases.push(("parameters too deep", deep));
    // Nodes at more addresses than a graph may have.
    let many: Vec<ShapeRef> = (0..MAX_NODES)
        .map(|_| graph.node("a", Vec::new()))
        .collect();
    cases.push(("too many types", graph.node("m", many)));
    // As many as it may have, of one type: the merge's bound could be
    // met, so the check reads it in full.
    let many: Vec<ShapeRef> = (1..MAX_NODES)
        .map(|_| graph.node("a", Vec::new()))
        .collect();
    let most = graph.node("m", many);
    cases.push(("as many types as a graph may have", most));
    // Composed names that take just the bytes a walk may compose, then
    // one more: 132 types each `b...<a>`, each hiding the next.
    let names_up_to = |graph: &mut Graph, first: usize| {
        let mut next = graph.node("z", Vec::new());
        for _ in 0..131 {
            next = graph.formed(
                LEAF,
                PATH_HIDDEN_LAST,
                long(32_000),
                vec![a, next],
                Vec::new(),
            );
        }
        graph.formed(
            LEAF,
            PATH_HIDDEN_LAST,
            long(first),
            vec![a, next],
            Vec::new(),
        )
    };
    let at_the_bound = names_up_to(&mut graph, 1908);
    let past_the_bound = names_up_to(&mut graph, 1909);
    cases.push(("names at the bound", at_the_bound));
    cases.push(("names past the bound", past_the_bound));

    let mut refused = 0;
    for (case, root) in cases {
        let read = nodes(root, &mut Own).map(drop);
        refused += usize::from(read.is_err());
        assert_eq!(check(root, &mut Own), read, "{case}");
    }
    assert_eq!(refused, 16, "every case but the two within the bounds");
    assert_eq!(nodes(at_the_bound, &mut Own).map(drop), Ok(()));
    assert_eq!(
        nodes(past_the_bound, &mut Own).map(drop),
        Err(format!(
            "its types' names would take more than {MAX_NAMES} bytes"
        ))
    );
    assert_eq!(nodes(most, &mut Own).map(|nodes| nodes.len()), Ok(2));
}
