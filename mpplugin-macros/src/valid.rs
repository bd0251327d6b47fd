//! Checks the typed view and turns it into what the expansion needs,
//! reporting every problem found rather than the first.

use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{GenericArgument, PathArguments, ReturnType, Type, TypePath};

use crate::ast::{Input, Method};

/// A plugin whose impl block passed every check.
pub(crate) struct Plugin<'a> {
    /// The plugin type, as written after `impl`.
    pub(crate) self_ty: &'a Type,
    /// The plugin type's path, `::`-separated, for the declaration.
    pub(crate) type_name: String,
    /// The plugin type's path, `__`-separated, for the exported symbol.
    pub(crate) symbol_suffix: String,
    /// `T` of `Plugin<T>`.
    pub(crate) message: &'a Type,
    /// How `handle_message` takes its message.
    pub(crate) message_form: MessageForm,
    /// The return type of `handle_message`: the span of the call, so that a
    /// wrong type is reported there.
    pub(crate) handled: &'a Type,
    /// How the plugin is built.
    pub(crate) constructor: Constructor<'a>,
    /// `S` of `fn save(self) -> S` and `fn restore(state: S) -> Self`, if
    /// the plugin declares a state that survives a reload.
    pub(crate) state: Option<&'a Type>,
}

/// How `handle_message` takes its message.
pub(crate) enum MessageForm {
    /// `message: &T`.
    Borrowed,
    /// `message: Message<T>`.
    Shared,
}

/// How the plugin is built.
pub(crate) enum Constructor<'a> {
    /// No `new`: by `Default`.
    Default,
    /// `fn new() -> R`.
    New {
        /// `R`, for the span of the conversion.
        returned: &'a Type,
    },
    /// `fn new(argument: &A) -> R`.
    NewWith {
        /// `A`.
        argument: &'a Type,
        /// `R`, for the span of the conversion.
        returned: &'a Type,
    },
}

/// Collects errors, so that one pass reports them all.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }
}

/// Checks the impl block.
pub(crate) fn validate<'a>(input: &Input<'a>) -> syn::Result<Plugin<'a>> {
    let mut errors = Errors::default();
    let item = input.item;

    if !item.generics.params.is_empty() {
        errors.spanned(
            &item.generics,
            "a plugin type cannot be generic: a library exports one concrete type; \
             remove the generic parameters and name concrete types, \
             e.g. wrap `Inner<u8>` in a `struct YourPlugin(Inner<u8>)`",
        );
    } else if let Some(where_clause) = &item.generics.where_clause {
        errors.spanned(
            where_clause,
            "a plugin's impl block takes no `where` clause: remove it",
        );
    }
    let names = type_names(&item.self_ty);
    // `impl<T> Counter<T>` is one mistake, reported once, above.
    if names.is_none() && item.generics.params.is_empty() {
        errors.spanned(
            &item.self_ty,
            "`#[plugin]` needs a plain type name without generic arguments, \
             such as `impl YourPlugin`: wrap this type in a struct of your own",
        );
    }

    let handle_message = match &input.handle_message {
        Some(method) => handle_message(method, &mut errors),
        None => {
            let (impl_token, self_ty) = (item.impl_token, &item.self_ty);
            errors.spanned(
                quote!(#impl_token #self_ty),
                "a plugin needs a `handle_message` method: add \
                 `fn handle_message(&mut self, message: &T) -> Option<u8> { ... }` \
                 to this impl block",
            );
            None
        }
    };

    let constructor = match &input.new {
        Some(method) => new(method, &mut errors),
        None => Some(Constructor::Default),
    };

    let state = state(input, &mut errors);

    if let Some(errors) = errors.0 {
        return Err(errors);
    }
    // Every `None` above came with an error, so none is left here; the
    // fallback keeps this function free of panics all the same.
    match (names, handle_message, constructor) {
        (
            Some((type_name, symbol_suffix)),
            Some((message, message_form, handled)),
            Some(constructor),
        ) => Ok(Plugin {
            self_ty: &item.self_ty,
            type_name,
            symbol_suffix,
            message,
            message_form,
            handled,
            constructor,
            state,
        }),
        _ => Err(syn::Error::new_spanned(
            &item.self_ty,
            "`#[plugin]` could not read this impl block",
        )),
    }
}

/// The type's path joined by `::` and by `__`, if it is a plain path.
fn type_names(ty: &Type) -> Option<(String, String)> {
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return None;
    };
    let mut segments = Vec::new();
    for segment in &path.segments {
        if !segment.arguments.is_none() {
            return None;
        }
        segments.push(segment.ident.unraw().to_string());
    }
    Some((segments.join("::"), segments.join("__")))
}

fn not_generic(method: &Method<'_>, errors: &mut Errors) {
    let sig = method.sig;
    let name = &sig.ident;
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            format!(
                "`{name}` cannot be generic: remove the generic parameters and name concrete types"
            ),
        );
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.spanned(
            asyncness,
            format!("`{name}` cannot be `async`: hosts call it synchronously; remove `async`"),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(
            unsafety,
            format!("`{name}` cannot be `unsafe`: hosts call it as safe code; remove `unsafe`"),
        );
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(
            abi,
            format!(
                "`{name}` is called as a Rust function: remove `{}`",
                abi.to_token_stream()
            ),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(
            variadic,
            format!("`{name}` cannot be variadic: remove `...`"),
        );
    }
}

/// The message type, its form and the return type of `handle_message`.
fn handle_message<'a>(
    method: &Method<'a>,
    errors: &mut Errors,
) -> Option<(&'a Type, MessageForm, &'a Type)> {
    let sig = method.sig;
    not_generic(method, errors);

    const SIGNATURE: &str = "`fn handle_message(&mut self, message: &T) -> Option<u8>`";
    match method.receiver {
        Some(receiver) if is_mut_self(&receiver.ty) => {}
        Some(receiver) => errors.spanned(
            receiver,
            format!(
                "`handle_message` takes `&mut self`, not `{}`: write {SIGNATURE}",
                tidy(receiver)
            ),
        ),
        None => errors.spanned(
            quote_sig_head(method),
            format!("`handle_message` needs a `&mut self` receiver: write {SIGNATURE}"),
        ),
    }

    let message = match method.params.as_slice() {
        [] => {
            errors.spanned(
                quote_sig_head(method),
                format!(
                    "`handle_message` takes the message as its one parameter: write {SIGNATURE}"
                ),
            );
            None
        }
        [param, extra @ ..] => {
            if !extra.is_empty() {
                errors.spanned(
                    quote!(#(#extra)*),
                    "`handle_message` takes one parameter besides `&mut self`, the message: \
                     remove the others and keep them in the plugin's fields",
                );
            }
            message_type(&param.ty, errors)
        }
    };

    let handled = match &sig.output {
        ReturnType::Type(_, ty) => Some(&**ty),
        ReturnType::Default => {
            errors.spanned(
                sig,
                "`handle_message` returns `Option<u8>` (`None` to go on, `Some(status)` \
                 to detach the plugin): add `-> Option<u8>`",
            );
            None
        }
    };
    let (message, form) = message?;
    Some((message, form, handled?))
}

/// `T` in `&T` or `Message<T>`.
fn message_type<'a>(ty: &'a Type, errors: &mut Errors) -> Option<(&'a Type, MessageForm)> {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => {
            Some((&reference.elem, MessageForm::Borrowed))
        }
        Type::Reference(reference) => {
            let elem = &reference.elem;
            errors.spanned(
                ty,
                format!(
                    "every plugin reads the same message, so it cannot be borrowed mutably: \
                     write `&{}`",
                    tidy(elem)
                ),
            );
            None
        }
        Type::Path(TypePath { qself: None, path })
            if path
                .segments
                .last()
                .is_some_and(|last| last.ident == "Message") =>
        {
            if let Some(PathArguments::AngleBracketed(arguments)) =
                path.segments.last().map(|last| &last.arguments)
            {
                if let (1, Some(GenericArgument::Type(message))) =
                    (arguments.args.len(), arguments.args.first())
                {
                    return Some((message, MessageForm::Shared));
                }
            }
            errors.spanned(
                ty,
                "`Message` takes the message type as its one argument: write `Message<T>`",
            );
            None
        }
        other => {
            let written = tidy(other);
            errors.spanned(
                other,
                format!(
                    "every plugin receives the same message, so it cannot be taken by value: \
                     write `&{written}` or `mpplugin::Message<{written}>`"
                ),
            );
            None
        }
    }
}

/// How the plugin is built from its `new`.
fn new<'a>(method: &Method<'a>, errors: &mut Errors) -> Option<Constructor<'a>> {
    let sig = method.sig;
    not_generic(method, errors);

    const SIGNATURE: &str = "`fn new() -> Self` or `fn new(argument: &A) -> Self`";
    if let Some(receiver) = method.receiver {
        errors.spanned(
            receiver,
            format!("`new` builds the plugin, so it takes no `self`: write {SIGNATURE}"),
        );
    }
    let argument = match method.params.as_slice() {
        [] => Some(None),
        [param] => match &*param.ty {
            Type::Reference(reference) if reference.mutability.is_none() => {
                Some(Some(&*reference.elem))
            }
            Type::Reference(reference) => {
                errors.spanned(
                    &param.ty,
                    format!(
                        "the host keeps the argument of `new`, so it cannot be borrowed \
                         mutably: write `&{}`",
                        tidy(&reference.elem)
                    ),
                );
                None
            }
            other => {
                errors.spanned(
                    other,
                    format!(
                        "the host lends the argument of `new`: take it by reference, \
                         write `&{}`",
                        tidy(other)
                    ),
                );
                None
            }
        },
        [_, extra @ ..] => {
            errors.spanned(
                quote!(#(#extra)*),
                "`new` takes at most one argument, `&A`: gather the values in one \
                 struct or tuple and take `&(A, B)`",
            );
            None
        }
    };
    let returned = match &sig.output {
        ReturnType::Type(_, ty) => Some(&**ty),
        ReturnType::Default => {
            errors.spanned(
                sig,
                "`new` returns the plugin: add `-> Self` or `-> Result<Self, E>` \
                 where `E: Display`",
            );
            None
        }
    };
    let returned = returned?;
    Some(match argument? {
        None => Constructor::New { returned },
        Some(argument) => Constructor::NewWith { argument, returned },
    })
}

const SAVE: &str = "`fn save(self) -> S`";
const RESTORE: &str = "`fn restore(state: S) -> Self`";

/// `S` of `save` and `restore`, which come together or not at all.
fn state<'a>(input: &Input<'a>, errors: &mut Errors) -> Option<&'a Type> {
    match (&input.save, &input.restore) {
        (None, None) => None,
        (Some(save), None) => {
            errors.spanned(
                quote_sig_head(save),
                format!(
                    "`save` hands the plugin's state to its next build, which starts from it \
                     with `restore`: add {RESTORE} beside it, or remove `save`"
                ),
            );
            None
        }
        (None, Some(restore)) => {
            errors.spanned(
                quote_sig_head(restore),
                format!(
                    "`restore` starts the plugin from the state its previous build saved \
                     with `save`: add {SAVE} beside it, or remove `restore`"
                ),
            );
            None
        }
        (Some(save), Some(restore)) => {
            let saved = save_signature(save, errors);
            restore_signature(restore, errors);
            saved
        }
    }
}

fn save_signature<'a>(method: &Method<'a>, errors: &mut Errors) -> Option<&'a Type> {
    not_generic(method, errors);
    match method.receiver {
        Some(receiver) if receiver.reference.is_none() && receiver.colon_token.is_none() => {}
        Some(receiver) => errors.spanned(
            receiver,
            format!(
                "`save` consumes the plugin at a reload, so it takes `self` by value: write {SAVE}"
            ),
        ),
        None => errors.spanned(
            quote_sig_head(method),
            format!("`save` turns the plugin into its state, so it takes `self`: write {SAVE}"),
        ),
    }
    if let [first, ..] = method.params.as_slice() {
        errors.spanned(
            first,
            format!("`save` takes nothing but `self`: write {SAVE}"),
        );
    }
    match &method.sig.output {
        ReturnType::Type(_, ty) => Some(&**ty),
        ReturnType::Default => {
            errors.spanned(
                method.sig,
                format!(
                    "`save` returns the state that survives a reload: write {SAVE}, `S: Shape`"
                ),
            );
            None
        }
    }
}

fn restore_signature(method: &Method<'_>, errors: &mut Errors) {
    not_generic(method, errors);
    if let Some(receiver) = method.receiver {
        errors.spanned(
            receiver,
            format!(
                "`restore` builds the plugin from a state, so it takes no `self`: write {RESTORE}"
            ),
        );
    }
    match method.params.as_slice() {
        [_] => {}
        [] => {
            if method.receiver.is_none() {
                errors.spanned(
                    quote_sig_head(method),
                    format!("`restore` takes the state `save` returned: write {RESTORE}"),
                );
            }
        }
        [_, extra @ ..] => errors.spanned(
            quote!(#(#extra)*),
            format!("`restore` takes one argument, the state: write {RESTORE}"),
        ),
    }
    if matches!(method.sig.output, ReturnType::Default) {
        errors.spanned(
            method.sig,
            format!("`restore` returns the plugin: write {RESTORE}"),
        );
    }
}

fn is_mut_self(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => {
            reference.mutability.is_some()
                && matches!(&*reference.elem, Type::Path(TypePath { qself: None, path }) if path.is_ident("Self"))
        }
        _ => false,
    }
}

/// `fn name(...)`: where to point when a parameter is missing.
fn quote_sig_head(method: &Method<'_>) -> proc_macro2::TokenStream {
    let sig = method.sig;
    let (fn_token, ident, inputs) = (sig.fn_token, &sig.ident, &sig.inputs);
    let mut tokens = quote!(#fn_token #ident);
    sig.paren_token
        .surround(&mut tokens, |tokens| inputs.to_tokens(tokens));
    tokens
}

/// Tokens as a person would write them, for messages: `Vec<String>`, not
/// `Vec < String >`.
fn tidy(tokens: impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
    ] {
        text = text.replace(from, to);
    }
    text
}
