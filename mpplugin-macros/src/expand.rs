//! Writes the glue: the `Plugin` impl, the constructor impl and the exported
//! declaration, beside the user's impl block, which is left as written.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::quote;
use syn::Item;
use syn::spanned::Spanned;

use crate::ast::Input;
use crate::attr;
use crate::valid::{self, Constructor, MessageForm, Plugin};

/// The whole attribute: the user's tokens, then the glue or the errors.
pub(crate) fn plugin(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = attr::parse(args);
    let glue = match syn::parse2::<Item>(input.clone()) {
        Ok(item) => {
            let plugin = Input::from_item(&item).and_then(|input| valid::validate(&input));
            match (args, plugin) {
                (Ok(args), Ok(plugin)) => Ok(glue(&args.krate, &plugin)),
                (Err(error), Ok(_)) | (Ok(_), Err(error)) => Err(error),
                (Err(mut errors), Err(error)) => {
                    errors.combine(error);
                    Err(errors)
                }
            }
        }
        Err(error) => Err(error),
    };
    match glue {
        Ok(glue) => {
            let input = with_allowances(input);
            quote!(#input #glue)
        }
        // The user's block is emitted on error too, so that one mistake does
        // not turn every use of the type into an error as well.
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#input #error)
        }
    }
}

fn glue(krate: &TokenStream, plugin: &Plugin<'_>) -> TokenStream {
    let self_ty = plugin.self_ty;
    let message = plugin.message;
    let private = quote!(#krate::__private);

    // Calls into the user's methods carry the span of the user's return type
    // from the first token to the last, so that a type that does not fit is
    // reported there rather than at the attribute.
    let handled = plugin.handled.span();
    let call = respan(
        match plugin.message_form {
            MessageForm::Borrowed => quote! {
                #private::by_ref(message, |message| <#self_ty>::handle_message(self, message))
            },
            MessageForm::Shared => quote!(<#self_ty>::handle_message(self, message)),
        },
        handled,
    );

    let (construct, declaration) = match &plugin.constructor {
        Constructor::Default => {
            let built = respan(
                quote!(<#self_ty as #private::DefaultPlugin>::default_plugin()),
                self_ty.span(),
            );
            (
                quote! {
                    #[automatically_derived]
                    impl #private::Construct<#message> for #self_ty {
                        fn construct() -> ::core::result::Result<Self, ::std::string::String> {
                            ::core::result::Result::Ok(#built)
                        }
                    }
                },
                quote!(declaration),
            )
        }
        Constructor::New { returned } => {
            let built = respan(
                quote!(#private::constructed::<Self, _>(<#self_ty>::new())),
                returned.span(),
            );
            (
                quote! {
                    #[automatically_derived]
                    impl #private::Construct<#message> for #self_ty {
                        fn construct() -> ::core::result::Result<Self, ::std::string::String> {
                            #built
                        }
                    }
                },
                quote!(declaration),
            )
        }
        Constructor::NewWith { argument, returned } => {
            let built = respan(
                quote!(#private::constructed::<Self, _>(<#self_ty>::new(argument))),
                returned.span(),
            );
            (
                quote! {
                    #[automatically_derived]
                    impl #private::ConstructWith<#message> for #self_ty {
                        type Argument = #argument;
                        fn construct(
                            argument: &#argument,
                        ) -> ::core::result::Result<Self, ::std::string::String> {
                            #built
                        }
                    }
                },
                quote!(declaration_with),
            )
        }
    };

    // The state that survives a reload: provided methods of `Plugin`
    // overridden here, so that `save` and `restore` run in this crate's
    // code with its panics contained there.
    let state = plugin.state.map(|state| {
        quote! {
            fn __mpplugin_state_shape(
                &self,
            ) -> ::core::option::Option<#private::ShapeRef> {
                ::core::option::Option::Some(#private::state_shape::<#state>())
            }

            fn __mpplugin_save(self: ::std::boxed::Box<Self>) -> #private::Saved {
                #private::save::<Self, #state>(self, <#self_ty>::save)
            }

            unsafe fn __mpplugin_restore(
                &mut self,
                state: *mut (),
            ) -> ::core::result::Result<(), ::std::string::String> {
                // SAFETY: the caller's: `state` is a `Box` of this shape.
                unsafe { #private::restore::<Self, #state>(self, state, <#self_ty>::restore) }
            }
        }
    });

    let type_name = &plugin.type_name;
    let symbol_suffix = &plugin.symbol_suffix;
    // A message type that is not `Send + Sync` is reported by the bounds of
    // `declaration`, a plugin that is not `Send` by the supertrait of
    // `Plugin`: both at the user's tokens, which these impls and calls reuse.
    quote! {
        #[automatically_derived]
        impl #krate::Plugin<#message> for #self_ty {
            fn handle_message(
                &mut self,
                message: #krate::Message<#message>,
            ) -> ::core::option::Option<u8> {
                #call
            }

            #state
        }

        const _: () = {
            #construct

            // The prefix is `mpplugin::abi::SYMBOL_PREFIX`; the crate's and the
            // type's names make the symbol unique in any binary that links
            // several plugin crates. `#[used]` keeps the declaration even
            // where nothing in the crate refers to it.
            #[unsafe(export_name = ::core::concat!(
                "__mpplugin_declaration__",
                ::core::env!("CARGO_CRATE_NAME"),
                "__",
                #symbol_suffix
            ))]
            #[used]
            static DECLARATION: #private::PluginDeclaration =
                #private::#declaration::<#self_ty, #message>(#private::PluginMeta {
                    name: ::core::env!("CARGO_PKG_NAME"),
                    version: ::core::env!("CARGO_PKG_VERSION"),
                    plugin_type: #type_name,
                    panic_unwind: ::core::cfg!(panic = "unwind"),
                });
        };
    }
}

/// The user's block, with `#[allow(clippy::ptr_arg)]` on a `new` that takes
/// an argument: clippy would suggest `&[T]` for `&Vec<T>` or `&str` for
/// `&String`, but the argument type must be sized and nameable on both
/// sides of the library boundary, so that fix cannot compile.
fn with_allowances(input: TokenStream) -> TokenStream {
    let Ok(mut block) = syn::parse2::<syn::ItemImpl>(input.clone()) else {
        return input;
    };
    for item in &mut block.items {
        if let syn::ImplItem::Fn(method) = item {
            if method.sig.ident == "new" && !method.sig.inputs.is_empty() {
                method
                    .attrs
                    .push(syn::parse_quote!(#[allow(clippy::ptr_arg)]));
            }
        }
    }
    quote!(#block)
}

/// `tokens` with every token's span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}
