//! The attributes the derive reads: `#[shape(crate = path)]` on the type,
//! `#[shape(opaque)]` and `#[shape(lazy)]` on a field, and the type's
//! `#[repr(...)]`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Meta, Path, Token};

/// Collects errors so that every one of them is reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// What a `#[shape(...)]` attribute can say.
enum Argument {
    Crate(Path),
    Opaque,
    Lazy,
}

/// Reads every `#[shape(...)]` of one item, reporting what does not parse.
fn arguments(attrs: &[Attribute], errors: &mut Errors) -> Vec<(Argument, TokenStream)> {
    let mut found = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("shape")) {
        if !matches!(attr.meta, Meta::List(_)) {
            errors.push(syn::Error::new_spanned(
                attr,
                "write `#[shape(opaque)]` on a field, or `#[shape(crate = path)]` on the type",
            ));
            continue;
        }
        let parsed = attr.parse_args_with(|input: ParseStream<'_>| {
            let mut items = Vec::new();
            while !input.is_empty() {
                // `crate` is a keyword: `Ident::parse_any` accepts it.
                let name = input.call(Ident::parse_any)?;
                if name == "crate" {
                    let eq = input.parse::<Token![=]>()?;
                    let path = input.call(Path::parse_mod_style)?;
                    let tokens = quote!(#name #eq #path);
                    items.push((Argument::Crate(path), tokens));
                } else if name == "opaque" {
                    items.push((Argument::Opaque, name.to_token_stream()));
                } else if name == "lazy" {
                    items.push((Argument::Lazy, name.to_token_stream()));
                } else {
                    return Err(syn::Error::new_spanned(
                        &name,
                        format!(
                            "unknown `shape` argument `{name}`: a field takes `#[shape(opaque)]` \
                             (compared by name, size and alignment only) or `#[shape(lazy)]` \
                             (its shape read when the host asks), the type takes \
                             `#[shape(crate = path)]` (the path to mpplugin, if the dependency is renamed)"
                        ),
                    ));
                }
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(items)
        });
        match parsed {
            Ok(items) => found.extend(items),
            Err(error) => errors.push(error),
        }
    }
    found
}

/// The path to mpplugin: `crate = path` from the type's attributes, or
/// `::mpplugin`.
pub(crate) fn container(attrs: &[Attribute], errors: &mut Errors) -> TokenStream {
    let mut krate = None;
    for (argument, tokens) in arguments(attrs, errors) {
        match argument {
            Argument::Crate(path) if krate.is_none() => krate = Some(path),
            Argument::Crate(_) => errors.push(syn::Error::new_spanned(
                tokens,
                "duplicated `crate` argument: give `#[shape(crate = path)]` once",
            )),
            Argument::Opaque => errors.push(syn::Error::new_spanned(
                tokens,
                "`opaque` goes on a field, not on the type: write `#[shape(opaque)]` before \
                 each field whose type has no `Shape`",
            )),
            Argument::Lazy => errors.push(syn::Error::new_spanned(
                tokens,
                "`lazy` goes on a field, not on the type: write `#[shape(lazy)]` before \
                 the field that closes a cycle of generic types",
            )),
        }
    }
    match krate {
        Some(path) => quote!(#path),
        None => quote!(::mpplugin),
    }
}

/// What a field is marked with.
#[derive(Default)]
pub(crate) struct FieldMarks {
    /// `#[shape(opaque)]`.
    pub(crate) opaque: bool,
    /// `#[shape(lazy)]`.
    pub(crate) lazy: bool,
}

/// Whether a field is marked `#[shape(opaque)]` or `#[shape(lazy)]`.
pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldMarks {
    let mut marks = FieldMarks::default();
    for (argument, tokens) in arguments(attrs, errors) {
        match argument {
            Argument::Opaque if !marks.opaque => marks.opaque = true,
            Argument::Opaque => errors.push(syn::Error::new_spanned(
                tokens,
                "duplicated `opaque`: give `#[shape(opaque)]` once",
            )),
            Argument::Lazy if !marks.lazy => marks.lazy = true,
            Argument::Lazy => errors.push(syn::Error::new_spanned(
                tokens,
                "duplicated `lazy`: give `#[shape(lazy)]` once",
            )),
            Argument::Crate(_) => errors.push(syn::Error::new_spanned(
                tokens,
                "`crate = path` goes on the type, not on a field: write \
                 `#[shape(crate = path)]` after `#[derive(Shape)]`",
            )),
        }
    }
    marks
}

/// The type's `#[repr(...)]`, as compared between host and plugin
/// (`C, u8`), and the integer type of its discriminants (`isize` without
/// one).
pub(crate) struct Repr {
    pub(crate) text: String,
    pub(crate) discriminant: TokenStream,
}

const INTEGERS: [&str; 12] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

pub(crate) fn repr(attrs: &[Attribute]) -> Repr {
    let mut parts = Vec::new();
    let mut discriminant = quote!(isize);
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("repr")) {
        // A malformed `repr` is rustc's to report.
        let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        else {
            continue;
        };
        for meta in metas {
            if let Some(ident) = meta.path().get_ident() {
                if INTEGERS.contains(&ident.to_string().as_str()) {
                    discriminant = quote!(#ident);
                }
            }
            let text: String = meta
                .to_token_stream()
                .to_string()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            parts.push(text);
        }
    }
    Repr {
        text: parts.join(", "),
        discriminant,
    }
}
