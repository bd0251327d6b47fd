//! The host's shape beside the plugin's: the first place where they differ,
//! as a path from the type down (`Msg.count`, `Op::Add`,
//! `Msg.inner.scale`), with what each side has there.
//!
//! Reads decoded shapes only; whether two shapes need comparing at all (their
//! bytes differ) is the caller's question.

use std::collections::HashSet;
use std::fmt;

use super::describe::{Field, Kind, Node, TypeRef, TypeShape, Variant};
use super::print::short_name;

/// How deep the walk goes before it gives up: far beyond any type written
/// by hand, and short of the stack's end for shapes made to be deep.
const MAX_DEPTH: usize = 256;

/// The first place where a host's shape of a type and a plugin's differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShapeDifference {
    /// From the type down: `Msg.count`, `Op::Add`, `Msg.inner.scale`,
    /// `Msg.items<Inner>.scale` (a generic parameter's shape).
    pub path: String,
    /// What the host has there.
    pub host: String,
    /// What the plugin has there.
    pub plugin: String,
}

impl fmt::Display for ShapeDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`: the host has {}, the plugin has {}",
            self.path, self.host, self.plugin
        )
    }
}

impl TypeShape {
    /// The first difference between the host's shape (`host`) and the
    /// plugin's (`plugin`), or `None` if they describe the same type.
    pub fn difference(host: &TypeShape, plugin: &TypeShape) -> Option<ShapeDifference> {
        let mut walk = Walk {
            host,
            plugin,
            compared: HashSet::new(),
        };
        let mut path = short_name(&host.root().name);
        walk.node(TypeRef(0), TypeRef(0), &mut path, 0).err()
    }
}

struct Walk<'a> {
    host: &'a TypeShape,
    plugin: &'a TypeShape,
    /// Pairs of nodes compared or being compared: meeting one again (a
    /// recursive type) adds nothing.
    compared: HashSet<(TypeRef, TypeRef)>,
}

type Found = Result<(), ShapeDifference>;

fn differ(path: &str, host: String, plugin: String) -> Found {
    Err(ShapeDifference {
        path: path.to_owned(),
        host,
        plugin,
    })
}

impl Walk<'_> {
    fn node(&mut self, host: TypeRef, plugin: TypeRef, path: &mut String, depth: usize) -> Found {
        let (h, p) = (self.host.node(host), self.plugin.node(plugin));
        if h.name != p.name {
            return differ(path, format!("`{}`", h.name), format!("`{}`", p.name));
        }
        if what(h) != what(p) {
            return differ(
                path,
                format!("{} `{}`", what(h), h.name),
                format!("{} `{}`", what(p), p.name),
            );
        }
        if h.layout != p.layout {
            return differ(path, sized(h), sized(p));
        }
        if repr(h) != repr(p) {
            return differ(
                path,
                format!("`{}` with {}", h.name, shown_repr(repr(h))),
                format!("`{}` with {}", p.name, shown_repr(repr(p))),
            );
        }
        if h.params.len() != p.params.len() {
            let count =
                |node: &Node| format!("`{}` with {} type parameters", node.name, node.params.len());
            return differ(path, count(h), count(p));
        }
        if !self.compared.insert((host, plugin)) {
            return Ok(());
        }
        if depth >= MAX_DEPTH {
            let deep = format!("a type nested more than {MAX_DEPTH} deep, not compared");
            return differ(path, deep.clone(), deep);
        }
        for (&hp, &pp) in h.params.iter().zip(&p.params) {
            let step = format!("<{}>", short_name(&self.host.node(hp).name));
            self.descend(hp, pp, path, &step, depth)?;
        }
        match (&h.kind, &p.kind) {
            (Kind::Struct { fields: hf, .. }, Kind::Struct { fields: pf, .. }) => {
                self.fields(hf, pf, path, ".", depth)
            }
            (Kind::Enum { variants: hv, .. }, Kind::Enum { variants: pv, .. }) => {
                let names =
                    |side: &[Variant]| side.iter().map(|v| v.name.to_string()).collect::<Vec<_>>();
                if let Some(found) = only_in(&names(hv), &names(pv), path, "::", "variant") {
                    return Err(found);
                }
                for (index, variant) in hv.iter().enumerate() {
                    let (other, theirs) = pv
                        .iter()
                        .enumerate()
                        .find(|(_, v)| v.name == variant.name)
                        .expect("a variant missing on the plugin's side was reported above");
                    let mut here = format!("{path}::{}", variant.name);
                    if index != other || variant.discriminant != theirs.discriminant {
                        let at = |index: usize, count: usize, discriminant: i128| {
                            format!(
                                "variant {} of {count}, discriminant {discriminant}",
                                index + 1
                            )
                        };
                        return differ(
                            &here,
                            at(index, hv.len(), variant.discriminant),
                            at(other, pv.len(), theirs.discriminant),
                        );
                    }
                    self.fields(&variant.fields, &theirs.fields, &mut here, ".", depth)?;
                }
                Ok(())
            }
            // Leaves and opaque types are their name, layout and parameters,
            // all compared above.
            _ => Ok(()),
        }
    }

    fn descend(
        &mut self,
        host: TypeRef,
        plugin: TypeRef,
        path: &mut String,
        step: &str,
        depth: usize,
    ) -> Found {
        let length = path.len();
        path.push_str(step);
        let found = self.node(host, plugin, path, depth + 1);
        path.truncate(length);
        found
    }

    fn fields(
        &mut self,
        host: &[Field],
        plugin: &[Field],
        path: &mut String,
        separator: &str,
        depth: usize,
    ) -> Found {
        let names = |side: &[Field]| side.iter().map(|f| f.name.to_string()).collect::<Vec<_>>();
        if let Some(found) = only_in(&names(host), &names(plugin), path, separator, "field") {
            return Err(found);
        }
        for (index, field) in host.iter().enumerate() {
            let (other, theirs) = plugin
                .iter()
                .enumerate()
                .find(|(_, f)| f.name == field.name)
                .expect("a field missing on the plugin's side was reported above");
            let step = format!("{separator}{}", field.name);
            if index != other || field.offset != theirs.offset {
                let at = |index: usize, count: usize, offset: Option<usize>| match offset {
                    Some(offset) => format!("field {} of {count}, at offset {offset}", index + 1),
                    None => format!("field {} of {count}", index + 1),
                };
                return differ(
                    &format!("{path}{step}"),
                    at(index, host.len(), field.offset),
                    at(other, plugin.len(), theirs.offset),
                );
            }
            self.descend(field.ty, theirs.ty, path, &step, depth)?;
        }
        Ok(())
    }
}

/// The first name that one side has and the other has not, host's first.
fn only_in(
    host: &[String],
    plugin: &[String],
    path: &str,
    separator: &str,
    what: &str,
) -> Option<ShapeDifference> {
    let missing =
        |from: &[String], in_: &[String]| from.iter().find(|name| !in_.contains(name)).cloned();
    if let Some(name) = missing(host, plugin) {
        return Some(ShapeDifference {
            path: format!("{path}{separator}{name}"),
            host: format!("{what} `{name}`"),
            plugin: format!("no {what} `{name}`"),
        });
    }
    missing(plugin, host).map(|name| ShapeDifference {
        path: format!("{path}{separator}{name}"),
        host: format!("no {what} `{name}`"),
        plugin: format!("{what} `{name}`"),
    })
}

fn what(node: &Node) -> &'static str {
    match node.kind {
        Kind::Leaf => "the type",
        Kind::Opaque => "the opaque type",
        Kind::Struct { .. } => "the struct",
        Kind::Enum { .. } => "the enum",
    }
}

fn sized(node: &Node) -> String {
    match node.layout {
        Some(layout) => format!(
            "`{}` (size {}, align {})",
            node.name, layout.size, layout.align
        ),
        None => format!("`{}` (unsized)", node.name),
    }
}

fn repr(node: &Node) -> &str {
    match &node.kind {
        Kind::Struct { repr, .. } | Kind::Enum { repr, .. } => repr,
        Kind::Leaf | Kind::Opaque => "",
    }
}

fn shown_repr(repr: &str) -> String {
    if repr.is_empty() {
        "no `#[repr]`".to_owned()
    } else {
        format!("`#[repr({repr})]`")
    }
}
