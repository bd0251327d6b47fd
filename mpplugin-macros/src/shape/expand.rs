//! Writes the `Shape` impl: the type's node as static data, with each
//! field's type's `SHAPE` named at the span of the user's field type, so
//! that a field whose type has no `Shape` is reported there.
//!
//! A type without generic parameters puts its node in a `static` of its
//! own, inside the `SHAPE` constant: types may then point at each other's
//! statics, however they contain each other. A generic type's node is a
//! constant per instance; a field whose type names the generic type again
//! (`kids: Vec<Tree<T>>`), or marked `#[shape(lazy)]`, refers to its type
//! through a function, which breaks what would be a constant containing
//! itself.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, Ident, parse_quote};

use super::ast::{Body, Field, Input};

pub(crate) fn shape(input: &Input<'_>) -> TokenStream {
    let krate = &input.krate;
    let shape = quote!(#krate::shape);
    let ident = input.ident;
    let generic = !input.generics.params.is_empty();

    // Every type parameter must have a shape, and `Shape` needs `'static`.
    let mut generics = input.generics.clone();
    let mut params = Vec::new();
    let mut consts = Vec::new();
    {
        let where_clause = generics.make_where_clause();
        for param in &input.generics.params {
            match param {
                GenericParam::Type(param) => {
                    let name = &param.ident;
                    where_clause
                        .predicates
                        .push(parse_quote!(#name: #krate::Shape));
                    params.push(quote!(<#name as #krate::Shape>::SHAPE));
                }
                GenericParam::Lifetime(param) => {
                    let lifetime = &param.lifetime;
                    where_clause
                        .predicates
                        .push(parse_quote!(#lifetime: 'static));
                }
                GenericParam::Const(param) => {
                    let name = &param.ident;
                    // Two words each, low then high: a `u128` or `i128`
                    // argument is not cut short.
                    consts.push(quote!((#name as u128) as u64));
                    consts.push(quote!(((#name as u128) >> 64) as u64));
                }
            }
        }
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();

    // Inside the `static` of a type without parameters, `Self` is out of
    // reach: the type is named by its identifier there.
    let this = if generic {
        quote!(Self)
    } else {
        quote!(#ident)
    };
    let context = Context {
        shape: &shape,
        krate,
        ident,
        generic,
    };
    let path = ident.to_string();
    let path = text(
        &shape,
        quote!(::core::concat!(::core::module_path!(), "::", #path)),
    );
    let repr = &input.repr.text;
    let repr = text(&shape, quote!(#repr));
    let node = match &input.body {
        Body::Struct(fields) => {
            let fields = fields.iter().map(|field| {
                let member = &field.member;
                let offset = quote!(::core::mem::offset_of!(#this, #member));
                context.field(field, Some(offset))
            });
            quote! {
                #shape::StaticNode::structure(
                    #path,
                    #shape::Layout::of::<#this>(),
                    #repr,
                    &[#(#params),*],
                    &[#(#consts),*],
                    &[#(#fields),*],
                )
            }
        }
        Body::Enum(variants) => {
            let integer = &input.repr.discriminant;
            // An explicit discriminant is evaluated as rustc does: a constant
            // of the repr's integer type (`isize` without one); a variant
            // without one follows the previous by one.
            let mut last_explicit: Option<(TokenStream, usize)> = None;
            let variants = variants.iter().enumerate().map(|(index, variant)| {
                if let Some(expr) = variant.discriminant {
                    let value = quote!({
                        const DISCRIMINANT: #integer = #expr;
                        DISCRIMINANT as i128
                    });
                    last_explicit = Some((value, index));
                }
                let value = match &last_explicit {
                    Some((value, at)) => {
                        let after = (index - at) as i128;
                        quote!((#value + #after))
                    }
                    None => {
                        let index = index as i128;
                        quote!(#index)
                    }
                };
                let name = variant.ident.to_string();
                let name = text(&shape, quote!(#name));
                let fields = variant
                    .fields
                    .iter()
                    .map(|field| context.field(field, None));
                quote!(#shape::StaticVariant::new(#name, #value, &[#(#fields),*]))
            });
            let variants: Vec<_> = variants.collect();
            quote! {
                #shape::StaticNode::enumeration(
                    #path,
                    #shape::Layout::of::<#this>(),
                    #repr,
                    &[#(#params),*],
                    &[#(#consts),*],
                    &[#(#variants),*],
                )
            }
        }
    };

    let value = if generic {
        quote!(#shape::ShapeRef::new(&#node))
    } else {
        quote!({
            static NODE: #shape::StaticNode = #node;
            #shape::ShapeRef::new(&NODE)
        })
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Shape for #ident #type_generics #where_clause {
            #[allow(clippy::all, clippy::pedantic)]
            const SHAPE: #shape::ShapeRef = #value;
        }
    }
}

struct Context<'a> {
    shape: &'a TokenStream,
    krate: &'a TokenStream,
    ident: &'a Ident,
    generic: bool,
}

impl Context<'_> {
    fn field(&self, field: &Field<'_>, offset: Option<TokenStream>) -> TokenStream {
        let shape = self.shape;
        let krate = self.krate;
        let name = &field.name;
        let name = text(shape, quote!(#name));
        let ty = if self.generic {
            field.ty.to_token_stream()
        } else {
            replace_self(field.ty.to_token_stream(), self.ident)
        };
        let of = if field.opaque {
            quote!(#shape::ShapeRef::new(&#shape::StaticNode::opaque::<#ty>()))
        } else if field.lazy || (self.generic && mentions(field.ty.to_token_stream(), self.ident)) {
            quote_spanned!(field.ty.span()=>
                #shape::ShapeRef::lazy(#shape::lazy_shape::<#ty>))
        } else {
            quote_spanned!(field.ty.span()=> <#ty as #krate::Shape>::SHAPE)
        };
        match offset {
            Some(offset) => quote!(#shape::StaticField::new(#name, #offset, #of)),
            None => quote!(#shape::StaticField::in_variant(#name, #of)),
        }
    }
}

/// The `&'static str` `value`, stored beside a pointer so that the linker
/// puts it with the data the dynamic loader has already touched, not in
/// `.rodata` (see `mpplugin::shape::Anchored`).
fn text(shape: &TokenStream, value: TokenStream) -> TokenStream {
    quote!({
        const __MPPLUGIN_TEXT: &str = #value;
        #shape::Anchored::<{ __MPPLUGIN_TEXT.len() }>::new(__MPPLUGIN_TEXT).as_str()
    })
}

/// Whether `tokens` name `ident` (or `Self`) anywhere.
fn mentions(tokens: TokenStream, ident: &Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(found) => found == *ident || found == "Self",
        TokenTree::Group(group) => mentions(group.stream(), ident),
        _ => false,
    })
}

/// `tokens` with every `Self` written as `ident`.
fn replace_self(tokens: TokenStream, ident: &Ident) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Ident(found) if found == "Self" => {
                let mut named = ident.clone();
                named.set_span(found.span());
                TokenTree::Ident(named)
            }
            TokenTree::Group(group) => {
                let mut replaced =
                    Group::new(group.delimiter(), replace_self(group.stream(), ident));
                replaced.set_span(group.span());
                TokenTree::Group(replaced)
            }
            other => other,
        })
        .collect()
}
