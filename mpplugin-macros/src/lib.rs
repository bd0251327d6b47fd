//! The `#[plugin]` attribute and `#[derive(Shape)]` of mpplugin. Use them
//! through `mpplugin::plugin` and `mpplugin::Shape`.
//!
//! The attribute runs in four stages, one module each: `attr` parses its
//! arguments, `ast` gives a typed view of the impl block that keeps the
//! user's tokens for spans, `valid` checks that view and collects every
//! problem, and `expand` writes the glue. The derive has its own stages in
//! `shape/`.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod expand;
mod shape;
mod valid;

use proc_macro::TokenStream;

/// Makes a plugin of one inherent impl block.
///
/// ```ignore
/// use mpplugin::Message;
///
/// pub struct Concat {
///     text: String,
/// }
///
/// #[mpplugin::plugin]
/// impl Concat {
///     /// Optional: `fn new() -> R` or `fn new(argument: &A) -> R`, where `R`
///     /// is `Self` or `Result<Self, E>` with `E: Display`. Without `new`,
///     /// the type must implement `Default`.
///     pub fn new(words: &Vec<String>) -> Result<Self, String> {
///         Ok(Self { text: words.join(" ") })
///     }
///
///     /// Required: the message as `&T` or `Message<T>`. `None` asks for the
///     /// next message, `Some(status)` detaches the plugin.
///     fn handle_message(&mut self, message: &String) -> Option<u8> {
///         self.text.push_str(message);
///         None
///     }
///
///     /// Optional, together with `restore`: what survives a reload
///     /// (`host.replace`), `S: Shape`. At the swap the old build's `save`
///     /// runs, and the new build's `restore` if its state has the same
///     /// shape; otherwise the new plugin starts as constructed, and the
///     /// `Replaced` of the swap says why.
///     fn save(self) -> String {
///         self.text
///     }
///
///     fn restore(text: String) -> Self {
///         Self { text }
///     }
///
///     // Anything else in the block is left as written.
/// }
/// ```
///
/// Beside the block, the attribute writes:
///
/// - `impl mpplugin::Plugin<T> for Concat`, calling your `handle_message`;
/// - the constructor a host calls through the library boundary: it builds the
///   plugin from `new` (or `Default`), turns an error into a refusal that
///   carries its message, and catches a panic;
/// - the exported `#[repr(C)]` declaration the loader checks before it calls
///   anything: the plugin crate's name and version, the rustc and target that
///   built it, the message and argument types, and the panic strategy. Its
///   symbol is made of the crate's and the type's name, so plugin crates
///   linked into one binary never collide.
///
/// The type must be `Send + 'static`, the message `Send + Sync + 'static`, the
/// argument `Sized + 'static` (`&Vec<String>`, not `&[String]`: the host
/// names the argument's type, and the loader compares it). The impl block may
/// not be generic. Misuse is a compile error at the offending tokens.
///
/// Build the crate with `crate-type = ["cdylib", "rlib"]`: a cdylib for hosts
/// to load, and an rlib so it stays an ordinary library.
///
/// `#[plugin(crate = path)]` names the mpplugin crate when the dependency is
/// renamed.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::plugin(args.into(), input.into()).into()
}

/// Describes a struct or an enum for the loader's comparison: implements
/// `mpplugin::Shape`.
///
/// ```ignore
/// #[derive(mpplugin::Shape)]
/// pub struct Msg {
///     pub count: u64,
///     // Another crate's type without `Shape`: name, size and alignment only.
///     #[shape(opaque)]
///     pub id: other_crate::Id,
/// }
///
/// #[derive(mpplugin::Shape)]
/// pub enum Op<T> {
///     Add(T),
///     Sub(T),
/// }
/// ```
///
/// Structs (named, tuple, unit) and enums, generic ones included: each type
/// parameter gets a `Shape` bound. Every field's type must implement
/// `Shape`, or the field must be `#[shape(opaque)]`. `#[shape(crate = path)]`
/// on the type names the mpplugin crate when the dependency is renamed.
/// Unions are refused.
///
/// The shape is static data (`Shape::SHAPE`), made at compile time. Types
/// may contain each other; only two *generic* types that contain each other
/// fail to compile ("cycle detected when evaluating `SHAPE`"): mark the field
/// that closes the cycle `#[shape(lazy)]`, and its shape is read through a
/// function when the host asks. (A generic type's field that names the type
/// itself, `kids: Vec<Tree<T>>`, is read that way without the mark.)
#[proc_macro_derive(Shape, attributes(shape))]
pub fn derive_shape(input: TokenStream) -> TokenStream {
    shape::derive(input.into()).into()
}
