//! A shape for people: the tree the inspector prints, the short names used
//! in paths, and the list of fields that are checked by name and layout
//! only.
//!
//! Reads decoded shapes only.

use std::collections::HashSet;
use std::fmt;

use super::describe::{Field, Kind, Node, TypeRef, TypeShape};

/// `name` without module paths: `alloc::vec::Vec<my::Inner>` reads
/// `Vec<Inner>`.
pub(crate) fn short_name(name: &str) -> String {
    let mut short = String::with_capacity(name.len());
    let mut word = String::new();
    let mut rest = name;
    while let Some(next) = rest.chars().next() {
        if next.is_alphanumeric() || next == '_' {
            word.push(next);
            rest = &rest[next.len_utf8()..];
        } else if let Some(after) = rest.strip_prefix("::") {
            word.clear();
            rest = after;
        } else {
            short.push_str(&word);
            word.clear();
            short.push(next);
            rest = &rest[next.len_utf8()..];
        }
    }
    short.push_str(&word);
    short
}

impl TypeShape {
    /// The paths of the fields marked `#[shape(opaque)]`, which the loader
    /// checks by name, size and alignment only: `Msg.id`, `Op::Tag.0`.
    pub fn opaque_fields(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        self.collect_opaque(
            TypeRef(0),
            &short_name(&self.root().name),
            &mut seen,
            &mut found,
        );
        found
    }

    fn collect_opaque(
        &self,
        ty: TypeRef,
        path: &str,
        seen: &mut HashSet<TypeRef>,
        found: &mut Vec<String>,
    ) {
        if !seen.insert(ty) {
            return;
        }
        let node = self.node(ty);
        for &param in &node.params {
            let step = format!("{path}<{}>", short_name(&self.node(param).name));
            self.collect_opaque(param, &step, seen, found);
        }
        let mut fields = |fields: &[Field], path: &str| {
            for field in fields {
                let here = format!("{path}.{}", field.name);
                if self.node(field.ty).kind == Kind::Opaque {
                    found.push(here);
                } else {
                    self.collect_opaque(field.ty, &here, seen, found);
                }
            }
        };
        match &node.kind {
            Kind::Struct { fields: list, .. } => fields(list, path),
            Kind::Enum { variants, .. } => {
                for variant in variants {
                    fields(&variant.fields, &format!("{path}::{}", variant.name));
                }
            }
            Kind::Leaf | Kind::Opaque => {}
        }
    }

    fn print(
        &self,
        f: &mut fmt::Formatter<'_>,
        ty: TypeRef,
        indent: usize,
        shown: &mut HashSet<TypeRef>,
    ) -> fmt::Result {
        let node = self.node(ty);
        write!(f, "{}", short_name(&node.name))?;
        // A standard type without parameters is known by its name.
        if is_plain(node) {
            return Ok(());
        }
        match node.layout {
            Some(layout) => write!(f, " (size {}, align {}", layout.size, layout.align)?,
            None => write!(f, " (unsized")?,
        }
        match &node.kind {
            Kind::Struct { repr, .. } | Kind::Enum { repr, .. } if !repr.is_empty() => {
                write!(f, ", repr({repr}))")?
            }
            Kind::Opaque => write!(f, ", opaque: name and layout only)")?,
            _ => write!(f, ")")?,
        }
        let structured = !matches!(node.kind, Kind::Leaf | Kind::Opaque)
            || node.params.iter().any(|&param| !is_plain(self.node(param)));
        if !structured {
            return Ok(());
        }
        if !shown.insert(ty) {
            return write!(f, ", as above");
        }
        let pad = "  ".repeat(indent + 1);
        for (index, &param) in node.params.iter().enumerate() {
            if !is_plain(self.node(param)) {
                write!(f, "\n{pad}<parameter {}>: ", index + 1)?;
                self.print(f, param, indent + 1, shown)?;
            }
        }
        let fields = |f: &mut fmt::Formatter<'_>,
                      fields: &[Field],
                      pad: &str,
                      shown: &mut HashSet<TypeRef>| {
            for field in fields {
                write!(f, "\n{pad}{}", field.name)?;
                if let Some(offset) = field.offset {
                    write!(f, " @{offset}")?;
                }
                write!(f, ": ")?;
                self.print(f, field.ty, pad.len() / 2, shown)?;
            }
            Ok(())
        };
        match &node.kind {
            Kind::Struct { fields: list, .. } => fields(f, list, &pad, shown)?,
            Kind::Enum { variants, .. } => {
                let inner = format!("{pad}  ");
                for variant in variants {
                    write!(f, "\n{pad}{} = {}", variant.name, variant.discriminant)?;
                    fields(f, &variant.fields, &inner, shown)?;
                }
            }
            Kind::Leaf | Kind::Opaque => {}
        }
        Ok(())
    }
}

/// A standard type without parameters: shown by its name alone.
fn is_plain(node: &Node) -> bool {
    node.kind == Kind::Leaf && node.params.is_empty()
}

/// The tree of the type: each field with its offset and type, each variant
/// with its discriminant, each type described once.
impl fmt::Display for TypeShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.print(f, TypeRef(0), 0, &mut HashSet::new())
    }
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn short_names_drop_module_paths_everywhere() {
        assert_eq!(short_name("alloc::vec::Vec<my::Inner>"), "Vec<Inner>");
        assert_eq!(
            short_name("std::collections::hash::map::HashMap<u8, (a::B, [c::D; 3])>"),
            "HashMap<u8, (B, [D; 3])>"
        );
        assert_eq!(short_name("u64"), "u64");
    }
}
