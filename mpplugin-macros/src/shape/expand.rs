//! Writes the `Shape` impl: the type's node, with each field's type asked of
//! the builder at the span of the user's field type, so that a field whose
//! type has no `Shape` is reported there.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, parse_quote};

use super::ast::{Body, Field, Input};

pub(crate) fn shape(input: &Input<'_>) -> TokenStream {
    let krate = &input.krate;
    let shape = quote!(#krate::shape);
    let ident = input.ident;

    // Every type parameter must have a shape, and `Shape` needs `'static`.
    let mut generics = input.generics.clone();
    let mut params = Vec::new();
    {
        let where_clause = generics.make_where_clause();
        for param in &input.generics.params {
            match param {
                GenericParam::Type(param) => {
                    let name = &param.ident;
                    where_clause
                        .predicates
                        .push(parse_quote!(#name: #krate::Shape));
                    params.push(quote!(builder.of::<#name>()));
                }
                GenericParam::Lifetime(param) => {
                    let lifetime = &param.lifetime;
                    where_clause
                        .predicates
                        .push(parse_quote!(#lifetime: 'static));
                }
                GenericParam::Const(_) => {}
            }
        }
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();

    let repr = &input.repr.text;
    let node = match &input.body {
        Body::Struct(fields) => {
            let fields = fields.iter().map(|field| {
                let member = &field.member;
                let offset = quote!(::core::mem::offset_of!(Self, #member));
                describe_field(&shape, field, Some(offset))
            });
            quote! {
                #shape::Node::structure::<Self>(
                    #repr,
                    ::std::vec![#(#params),*],
                    ::std::vec![#(#fields),*],
                )
            }
        }
        Body::Enum(variants) => {
            let integer = &input.repr.discriminant;
            let variants = variants.iter().map(|variant| {
                let name = variant.ident.to_string();
                // An explicit discriminant is evaluated as rustc does: a
                // constant of the repr's integer type (`isize` without one).
                let value = match variant.discriminant {
                    Some(expr) => quote!({
                        const DISCRIMINANT: #integer = #expr;
                        DISCRIMINANT as i128
                    }),
                    None => quote!(next),
                };
                let fields = variant
                    .fields
                    .iter()
                    .map(|field| describe_field(&shape, field, None));
                quote!({
                    let discriminant: i128 = #value;
                    next = discriminant.wrapping_add(1);
                    #shape::Variant::new(#name, discriminant, ::std::vec![#(#fields),*])
                })
            });
            quote!({
                let mut next: i128 = 0;
                #shape::Node::enumeration::<Self>(
                    #repr,
                    ::std::vec![#(#params),*],
                    ::std::vec![#(#variants),*],
                )
            })
        }
    };

    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Shape for #ident #type_generics #where_clause {
            #[allow(unused_assignments, unused_mut, unused_variables, clippy::all)]
            fn describe(builder: &mut #shape::Builder) -> #shape::Node {
                #node
            }
        }
    }
}

fn describe_field(
    shape: &TokenStream,
    field: &Field<'_>,
    offset: Option<TokenStream>,
) -> TokenStream {
    let name = &field.name;
    let ty = field.ty;
    if field.opaque {
        let offset = match offset {
            Some(offset) => quote!(::core::option::Option::Some(#offset)),
            None => quote!(::core::option::Option::None),
        };
        return quote!(#shape::Field::opaque::<#ty>(builder, #name, #offset));
    }
    let of = quote_spanned!(ty.span()=> builder.of::<#ty>());
    match offset {
        Some(offset) => quote!(#shape::Field::new(#name, #offset, #of)),
        None => quote!(#shape::Field::in_variant(#name, #of)),
    }
}
