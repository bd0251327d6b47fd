//! A [`TypeShape`] as bytes, and back: how a plugin hands its shapes to the
//! host. Decoding reads bytes that a library supplied, so it trusts nothing
//! in them: every length is checked against the bytes that are left before
//! anything is allocated for it, every reference against the node count,
//! and any surprise is a [`MalformedShape`], never a panic.
//!
//! Holds no comparison: two shapes that encode to the same bytes are the
//! same shape, and the comparison decodes them only when the bytes differ.
//!
//! The format (every integer an unsigned LEB128 varint; a string is its
//! length in bytes, then UTF-8; a discriminant is zigzag-encoded):
//!
//! ```text
//! shape   = FORMAT node-count node*
//! node    = kind name layout param-count type* body
//! layout  = 0 (unsized) | 1 size align
//! body    = nothing (Leaf, Opaque)
//!         | repr field-count (name offset type)*                        (Struct)
//!         | repr variant-count (name discriminant field-count (name type)*)* (Enum)
//! ```

use std::borrow::Cow;
use std::fmt;

use super::describe::{Field, Kind, Layout, Node, TypeRef, TypeShape, Variant};

/// The first byte of every encoding; changes with the format.
const FORMAT: u8 = 1;

const LEAF: u8 = 0;
const OPAQUE: u8 = 1;
const STRUCT: u8 = 2;
const ENUM: u8 = 3;

/// The fewest bytes a node, a field and a variant take, so that a claimed
/// count can be checked against the bytes left before anything is
/// allocated for it.
const MIN_NODE: usize = 4;
const MIN_FIELD: usize = 2;
const MIN_VARIANT: usize = 3;

/// Why bytes are not a shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MalformedShape {
    /// Where in the bytes the decoder stopped.
    pub offset: usize,
    /// What it found there.
    pub reason: String,
}

impl fmt::Display for MalformedShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed shape at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for MalformedShape {}

impl TypeShape {
    /// The shape as bytes: what a plugin's declaration carries.
    pub fn encode(&self) -> Vec<u8> {
        self.parts().bytes.to_vec()
    }

    /// The shape as bytes, without a copy: equal shapes have equal bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.parts().bytes
    }

    /// Reads bytes made by [`encode`](Self::encode), checking everything.
    ///
    /// # Errors
    /// [`MalformedShape`] for anything else: truncated bytes, unknown
    /// kinds, lengths beyond the bytes, references to nodes that do not
    /// exist, text that is not UTF-8, bytes left over.
    pub fn decode(bytes: &[u8]) -> Result<Self, MalformedShape> {
        let mut reader = Reader { bytes, at: 0 };
        let format = reader.byte()?;
        if format != FORMAT {
            return Err(reader.fail(format!(
                "format {format}, where this mpplugin reads format {FORMAT}"
            )));
        }
        let count = reader.count(MIN_NODE, "nodes")?;
        if count == 0 {
            return Err(reader.fail("no node: a shape has at least its own type".to_owned()));
        }
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            nodes.push(reader.node(count)?);
        }
        if reader.at != bytes.len() {
            return Err(reader.fail(format!(
                "{} bytes left after the last node",
                bytes.len() - reader.at
            )));
        }
        Ok(Self::made(nodes.into(), bytes.into()))
    }
}

/// The bytes of a shape's nodes.
pub(crate) fn encode(nodes: &[Node]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * nodes.len());
    out.push(FORMAT);
    put(&mut out, nodes.len() as u128);
    for node in nodes {
        encode_node(&mut out, node);
    }
    out
}

fn encode_node(out: &mut Vec<u8>, node: &Node) {
    out.push(match node.kind {
        Kind::Leaf => LEAF,
        Kind::Opaque => OPAQUE,
        Kind::Struct { .. } => STRUCT,
        Kind::Enum { .. } => ENUM,
    });
    put_str(out, &node.name);
    match node.layout {
        None => out.push(0),
        Some(layout) => {
            out.push(1);
            put(out, layout.size as u128);
            put(out, layout.align as u128);
        }
    }
    put(out, node.params.len() as u128);
    for param in &node.params {
        put(out, u128::from(param.0));
    }
    match &node.kind {
        Kind::Leaf | Kind::Opaque => {}
        Kind::Struct { repr, fields } => {
            put_str(out, repr);
            put(out, fields.len() as u128);
            for field in fields {
                put_str(out, &field.name);
                put(out, field.offset.unwrap_or(0) as u128);
                put(out, u128::from(field.ty.0));
            }
        }
        Kind::Enum { repr, variants } => {
            put_str(out, repr);
            put(out, variants.len() as u128);
            for variant in variants {
                put_str(out, &variant.name);
                put(out, zigzag(variant.discriminant));
                put(out, variant.fields.len() as u128);
                for field in &variant.fields {
                    put_str(out, &field.name);
                    put(out, u128::from(field.ty.0));
                }
            }
        }
    }
}

fn put(out: &mut Vec<u8>, mut value: u128) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put(out, text.len() as u128);
    out.extend_from_slice(text.as_bytes());
}

fn zigzag(value: i128) -> u128 {
    ((value << 1) ^ (value >> 127)) as u128
}

fn unzigzag(value: u128) -> i128 {
    ((value >> 1) as i128) ^ -((value & 1) as i128)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn fail(&self, reason: String) -> MalformedShape {
        MalformedShape {
            offset: self.at,
            reason,
        }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8, MalformedShape> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| self.fail("the bytes end here".to_owned()))?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u128, MalformedShape> {
        let start = self.at;
        let mut value: u128 = 0;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            let bits = u128::from(byte & 0x7f);
            // The 19th byte holds the top 2 bits; a 20th holds none.
            if shift >= 128 || (shift > 121 && bits >> (128 - shift) != 0) {
                self.at = start;
                return Err(self.fail("a number wider than 128 bits".to_owned()));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn usize(&mut self, what: &str) -> Result<usize, MalformedShape> {
        let start = self.at;
        let value = self.varint()?;
        usize::try_from(value).map_err(|_| {
            self.at = start;
            self.fail(format!("{what} {value} does not fit this machine's usize"))
        })
    }

    /// A count of items that take at least `min` bytes each: never more
    /// than the bytes left could hold.
    fn count(&mut self, min: usize, what: &str) -> Result<usize, MalformedShape> {
        let start = self.at;
        let count = self.varint()?;
        if count > (self.left() / min) as u128 {
            self.at = start;
            return Err(self.fail(format!(
                "{count} {what} claimed, where {} bytes are left",
                self.left()
            )));
        }
        Ok(count as usize)
    }

    fn text(&mut self) -> Result<Cow<'static, str>, MalformedShape> {
        let start = self.at;
        let length = self.varint()?;
        if length > self.left() as u128 {
            self.at = start;
            return Err(self.fail(format!(
                "a text of {length} bytes claimed, where {} bytes are left",
                self.left()
            )));
        }
        let end = self.at + length as usize;
        let text = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|_| self.fail("a text that is not UTF-8".to_owned()))?;
        self.at = end;
        Ok(Cow::Owned(text.to_owned()))
    }

    fn type_ref(&mut self, count: usize) -> Result<TypeRef, MalformedShape> {
        let start = self.at;
        let index = self.varint()?;
        if index >= count as u128 {
            self.at = start;
            return Err(self.fail(format!("a reference to node {index} of a shape of {count}")));
        }
        // `count` came from bytes that are shorter than `u32::MAX` nodes
        // could be, or the allocation for them would have failed first.
        let index = u32::try_from(index).map_err(|_| self.fail("too many nodes".to_owned()))?;
        Ok(TypeRef(index))
    }

    fn node(&mut self, count: usize) -> Result<Node, MalformedShape> {
        let start = self.at;
        let kind = self.byte()?;
        if kind > ENUM {
            self.at = start;
            return Err(self.fail(format!("unknown kind {kind}")));
        }
        let name = self.text()?;
        let layout = match self.byte()? {
            0 => None,
            1 => {
                let size = self.usize("size")?;
                let align = self.usize("alignment")?;
                if !align.is_power_of_two() {
                    return Err(self.fail(format!("alignment {align} is not a power of two")));
                }
                Some(Layout { size, align })
            }
            other => {
                self.at -= 1;
                return Err(self.fail(format!("unknown layout marker {other}")));
            }
        };
        let params = self.count(1, "parameters")?;
        let params = (0..params)
            .map(|_| self.type_ref(count))
            .collect::<Result<Vec<_>, _>>()?;
        let kind = match kind {
            LEAF => Kind::Leaf,
            OPAQUE => {
                if !params.is_empty() || layout.is_none() {
                    self.at = start;
                    return Err(
                        self.fail("an opaque type with parameters or without a layout".to_owned())
                    );
                }
                Kind::Opaque
            }
            STRUCT => {
                let repr = self.text()?;
                let fields = self.count(MIN_FIELD + 1, "fields")?;
                let mut read = Vec::with_capacity(fields);
                for _ in 0..fields {
                    let name = self.text()?;
                    let offset = Some(self.usize("offset")?);
                    let ty = self.type_ref(count)?;
                    read.push(Field { name, offset, ty });
                }
                Kind::Struct { repr, fields: read }
            }
            _ => {
                let repr = self.text()?;
                let variants = self.count(MIN_VARIANT, "variants")?;
                let mut read = Vec::with_capacity(variants);
                for _ in 0..variants {
                    let name = self.text()?;
                    let discriminant = unzigzag(self.varint()?);
                    let fields = self.count(MIN_FIELD, "fields")?;
                    let mut fields_read = Vec::with_capacity(fields);
                    for _ in 0..fields {
                        let name = self.text()?;
                        let ty = self.type_ref(count)?;
                        fields_read.push(Field {
                            name,
                            offset: None,
                            ty,
                        });
                    }
                    read.push(Variant {
                        name,
                        discriminant,
                        fields: fields_read,
                    });
                }
                Kind::Enum {
                    repr,
                    variants: read,
                }
            }
        };
        if layout.is_none() && matches!(kind, Kind::Struct { .. } | Kind::Enum { .. }) {
            self.at = start;
            return Err(self.fail("a struct or enum without a layout".to_owned()));
        }
        Ok(Node {
            name,
            layout,
            params,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_their_edges() {
        for value in [0, 1, 127, 128, 300, u64::MAX as u128, u128::MAX] {
            let mut out = Vec::new();
            put(&mut out, value);
            let mut reader = Reader { bytes: &out, at: 0 };
            assert_eq!(reader.varint(), Ok(value), "{value}");
            assert_eq!(reader.at, out.len());
        }
        for value in [0, 1, -1, i128::MIN, i128::MAX, 255, -128] {
            assert_eq!(unzigzag(zigzag(value)), value);
        }
    }

    #[test]
    fn a_varint_wider_than_128_bits_is_refused() {
        let mut bytes = vec![0xff; 18];
        bytes.push(0x7f);
        let mut reader = Reader {
            bytes: &bytes,
            at: 0,
        };
        assert!(reader.varint().is_err());
        let endless = vec![0x80; 40];
        let mut reader = Reader {
            bytes: &endless,
            at: 0,
        };
        assert!(reader.varint().is_err());
    }
}
