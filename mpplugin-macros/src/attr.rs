//! The attribute's arguments: nothing, or `crate = path`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Path, Token};

/// The parsed arguments of `#[plugin(...)]`.
pub(crate) struct Args {
    /// The path to the runtime crate: `::mpplugin` unless overridden.
    pub(crate) krate: TokenStream,
}

/// Parses the arguments, reporting every unknown or duplicated one.
pub(crate) fn parse(args: TokenStream) -> syn::Result<Args> {
    Parser::parse2(parse_args, args)
}

fn parse_args(input: ParseStream<'_>) -> syn::Result<Args> {
    let mut krate: Option<Path> = None;
    let mut errors: Option<syn::Error> = None;
    let mut push = |error: syn::Error| match &mut errors {
        Some(errors) => errors.combine(error),
        None => errors = Some(error),
    };
    while !input.is_empty() {
        // `crate` is a keyword: `Ident::parse_any` accepts it.
        let name = input.call(Ident::parse_any)?;
        if name == "crate" {
            input.parse::<Token![=]>()?;
            let path = input.call(Path::parse_mod_style)?;
            if krate.is_some() {
                push(syn::Error::new_spanned(
                    quote!(#name = #path),
                    "duplicated `crate` argument: give `crate = path` once",
                ));
            } else {
                krate = Some(path);
            }
        } else {
            push(syn::Error::new_spanned(
                &name,
                format!(
                    "unknown argument `{name}`: `#[plugin]` takes no argument or \
                     `crate = path` (the path to mpplugin, if the dependency is renamed)"
                ),
            ));
            // Skip whatever the unknown argument holds, up to the next comma.
            while !input.is_empty() && !input.peek(Token![,]) {
                input.parse::<proc_macro2::TokenTree>()?;
            }
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    if let Some(errors) = errors {
        return Err(errors);
    }
    Ok(Args {
        krate: match krate {
            Some(path) => quote!(#path),
            None => quote!(::mpplugin),
        },
    })
}
