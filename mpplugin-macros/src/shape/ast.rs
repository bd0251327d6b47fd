//! A typed view of the item under `#[derive(Shape)]`, borrowing the user's
//! syntax tree so that every error and every generated call can carry the
//! span of the tokens the user wrote. Refuses what has no shape (unions)
//! and collects every attribute problem.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Expr, Fields, Generics, Ident, Member, Type};

use super::attr::{self, Errors, Repr};

/// The struct or enum.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    /// The path to mpplugin.
    pub(crate) krate: TokenStream,
    pub(crate) repr: Repr,
    pub(crate) body: Body<'a>,
}

pub(crate) enum Body<'a> {
    Struct(Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
}

pub(crate) struct Field<'a> {
    /// How the field is named in `offset_of!`: `count` or `0`.
    pub(crate) member: Member,
    /// Its name in the shape: `count` or `0`.
    pub(crate) name: String,
    pub(crate) ty: &'a Type,
    /// `#[shape(opaque)]`: known by name and layout only.
    pub(crate) opaque: bool,
    /// `#[shape(lazy)]`: its type's shape read through a function.
    pub(crate) lazy: bool,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    /// `= expr`, if written.
    pub(crate) discriminant: Option<&'a Expr>,
    pub(crate) fields: Vec<Field<'a>>,
}

impl<'a> Input<'a> {
    pub(crate) fn from_syn(input: &'a DeriveInput) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let krate = attr::container(&input.attrs, &mut errors);
        let body = match &input.data {
            Data::Struct(data) => Body::Struct(fields(&data.fields, &mut errors)),
            Data::Enum(data) => Body::Enum(
                data.variants
                    .iter()
                    .map(|variant| Variant {
                        ident: &variant.ident,
                        discriminant: variant.discriminant.as_ref().map(|(_, expr)| expr),
                        fields: fields(&variant.fields, &mut errors),
                    })
                    .collect(),
            ),
            Data::Union(data) => {
                errors.push(syn::Error::new_spanned(
                    data.union_token,
                    "`Shape` cannot be derived for a union: which field its bytes hold is \
                     known only at run time. Mark the fields that hold it `#[shape(opaque)]`, \
                     or use an enum",
                ));
                Body::Struct(Vec::new())
            }
        };
        errors.finish()?;
        Ok(Input {
            ident: &input.ident,
            generics: &input.generics,
            krate,
            repr: attr::repr(&input.attrs),
            body,
        })
    }
}

fn fields<'a>(fields: &'a Fields, errors: &mut Errors) -> Vec<Field<'a>> {
    fields
        .members()
        .zip(fields)
        .map(|(member, field)| {
            let marks = attr::field(&field.attrs, errors);
            Field {
                name: match &member {
                    Member::Named(ident) => ident.unraw().to_string(),
                    Member::Unnamed(index) => index.index.to_string(),
                },
                member,
                ty: &field.ty,
                opaque: marks.opaque,
                lazy: marks.lazy,
            }
        })
        .collect()
}
