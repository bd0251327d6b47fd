//! The `#[plugin]` attribute of mpplugin. Use it through `mpplugin::plugin`.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// Turns an inherent impl block into an mpplugin plugin.
#[proc_macro_attribute]
pub fn plugin(_args: TokenStream, input: TokenStream) -> TokenStream {
    input
}
