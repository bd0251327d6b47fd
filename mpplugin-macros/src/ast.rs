//! A typed view of the item under `#[plugin]`, borrowing the user's syntax
//! tree so that every error can point at the tokens the user wrote.

use quote::quote;
use syn::{FnArg, ImplItem, ImplItemFn, Item, ItemImpl, PatType, Receiver, Signature};

/// The inherent impl block under the attribute.
pub(crate) struct Input<'a> {
    /// The whole impl block, as written.
    pub(crate) item: &'a ItemImpl,
    /// Its `handle_message`, if it has one.
    pub(crate) handle_message: Option<Method<'a>>,
    /// Its `new`, if it has one.
    pub(crate) new: Option<Method<'a>>,
    /// Its `save`, if it has one: what survives a reload.
    pub(crate) save: Option<Method<'a>>,
    /// Its `restore`, if it has one: how it starts from what survived.
    pub(crate) restore: Option<Method<'a>>,
}

/// One associated function of the impl block.
pub(crate) struct Method<'a> {
    /// Its signature, as written.
    pub(crate) sig: &'a Signature,
    /// Its `self` parameter, in whatever form.
    pub(crate) receiver: Option<&'a Receiver>,
    /// Its other parameters, in order.
    pub(crate) params: Vec<&'a PatType>,
}

impl<'a> Input<'a> {
    /// The view of `item`, or an error if it is not an inherent impl block.
    pub(crate) fn from_item(item: &'a Item) -> syn::Result<Self> {
        let item = match item {
            Item::Impl(item) => item,
            other => return Err(not_an_impl(other)),
        };
        if let Some((bang, path, for_token)) = &item.trait_ {
            let impl_token = item.impl_token;
            return Err(syn::Error::new_spanned(
                quote!(#impl_token #bang #path #for_token),
                "`#[plugin]` goes on an inherent impl block, not on a trait impl: \
                 write `impl YourType { fn handle_message(...) ... }`; \
                 the attribute implements `Plugin` itself",
            ));
        }
        let mut handle_message = None;
        let mut new = None;
        let mut save = None;
        let mut restore = None;
        for member in &item.items {
            if let ImplItem::Fn(function) = member {
                let slot = if function.sig.ident == "handle_message" {
                    &mut handle_message
                } else if function.sig.ident == "new" {
                    &mut new
                } else if function.sig.ident == "save" {
                    &mut save
                } else if function.sig.ident == "restore" {
                    &mut restore
                } else {
                    continue;
                };
                // A second definition is rustc's to report (E0592).
                if slot.is_none() {
                    *slot = Some(Method::new(function));
                }
            }
        }
        Ok(Input {
            item,
            handle_message,
            new,
            save,
            restore,
        })
    }
}

impl<'a> Method<'a> {
    fn new(function: &'a ImplItemFn) -> Self {
        let mut receiver = None;
        let mut params = Vec::new();
        for input in &function.sig.inputs {
            match input {
                FnArg::Receiver(found) => receiver = Some(found),
                FnArg::Typed(param) => params.push(param),
            }
        }
        Method {
            sig: &function.sig,
            receiver,
            params,
        }
    }
}

fn not_an_impl(item: &Item) -> syn::Error {
    let (tokens, what) = match item {
        Item::Struct(item) => {
            let (keyword, name) = (item.struct_token, &item.ident);
            (quote!(#keyword #name), "a struct")
        }
        Item::Enum(item) => {
            let (keyword, name) = (item.enum_token, &item.ident);
            (quote!(#keyword #name), "an enum")
        }
        Item::Union(item) => {
            let (keyword, name) = (item.union_token, &item.ident);
            (quote!(#keyword #name), "a union")
        }
        Item::Fn(item) => {
            let (keyword, name) = (item.sig.fn_token, &item.sig.ident);
            (quote!(#keyword #name), "a function")
        }
        Item::Trait(item) => {
            let (keyword, name) = (item.trait_token, &item.ident);
            (quote!(#keyword #name), "a trait")
        }
        Item::Mod(item) => {
            let (keyword, name) = (item.mod_token, &item.ident);
            (quote!(#keyword #name), "a module")
        }
        other => (quote!(#other), "this item"),
    };
    syn::Error::new_spanned(
        tokens,
        format!(
            "`#[plugin]` goes on the impl block that holds `handle_message`, not on {what}: \
             write `#[plugin] impl YourType {{ fn handle_message(&mut self, message: &T) \
             -> Option<u8> {{ ... }} }}`"
        ),
    )
}
