//! `#[derive(Shape)]`, in three stages: `attr` reads the `#[shape(...)]`
//! and `#[repr(...)]` attributes, `ast` gives a typed view of the struct or
//! enum that keeps the user's tokens for spans (and refuses what has no
//! shape), and `expand` writes the impl. Every problem found is reported in
//! one pass.

mod ast;
mod attr;
mod expand;

use proc_macro2::TokenStream;

/// The whole derive: the impl, or the errors.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let parsed = syn::parse2::<syn::DeriveInput>(input)
        .and_then(|input| ast::Input::from_syn(&input).map(|view| expand::shape(&view)));
    match parsed {
        Ok(tokens) => tokens,
        Err(error) => error.into_compile_error(),
    }
}
