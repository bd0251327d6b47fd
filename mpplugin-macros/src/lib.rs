//! The `#[plugin]` attribute of mpplugin. Use it through `mpplugin::plugin`.
//!
//! The attribute runs in four stages, one module each: `attr` parses its
//! arguments, `ast` gives a typed view of the impl block that keeps the
//! user's tokens for spans, `valid` checks that view and collects every
//! problem, and `expand` writes the glue.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Turns an inherent impl block into an mpplugin plugin.
///
/// See `mpplugin::plugin` for the documentation.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::plugin(args.into(), input.into()).into()
}
