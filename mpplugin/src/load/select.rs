//! Choosing one plugin of a library that declares several: by the message
//! and argument types the host asks for, or by the plugin type's name. Only
//! the choice, over what the declarations said ([`PluginInfo`]): the checks
//! of the plugin chosen are `declaration.rs`'s, and constructing it is the
//! pipeline's, in `mod.rs`. No `unsafe`, no file, no library.

use super::declaration::{self, HostType};
use super::error::LoadError;
use super::info::PluginInfo;

/// The one plugin of `plugins` whose message and argument types are
/// `message` and `argument`, checked as `PluginLibrary::check` documents.
/// With one plugin, its checks decide; with several, the toolchain of each
/// is checked first (a plugin built by another rustc names types that mean
/// nothing here), then exactly one must declare these types.
pub(super) fn by_types(
    plugins: &[PluginInfo],
    message: HostType,
    argument: Option<HostType>,
) -> Result<usize, LoadError> {
    if let [only] = plugins {
        return declaration::check_types(only, &message, argument.as_ref()).map(|()| 0);
    }
    plugins.iter().try_for_each(declaration::check_toolchain)?;
    let argument_info = argument.as_ref().map(|argument| &argument.info);
    let fits = |info: &&PluginInfo| {
        info.message == message.info && info.argument.as_ref() == argument_info
    };
    let mut fitting = plugins.iter().enumerate().filter(|(_, info)| fits(info));
    match (fitting.next(), fitting.next()) {
        (Some((index, info)), None) => {
            declaration::check_types(info, &message, argument.as_ref()).map(|()| index)
        }
        (None, _) => Err(LoadError::NoPluginFits {
            path: plugins[0].path.clone(),
            host: Box::new(message.info),
            host_argument: argument.map(|argument| Box::new(argument.info)),
            plugins: plugins.to_vec(),
        }),
        (Some(_), Some(_)) => Err(LoadError::AmbiguousPlugin {
            path: plugins[0].path.clone(),
            candidates: plugins
                .iter()
                .filter(fits)
                .map(|info| info.plugin_type.clone())
                .collect(),
            host: Box::new(message.info),
            host_argument: argument.map(|argument| Box::new(argument.info)),
        }),
    }
}

/// The plugin of `plugins` whose type is named `name` as written in its
/// impl block, checked against `message` and `argument` as
/// `PluginLibrary::check` documents.
pub(super) fn by_name(
    plugins: &[PluginInfo],
    name: &str,
    message: HostType,
    argument: Option<HostType>,
) -> Result<usize, LoadError> {
    let index = plugins
        .iter()
        .position(|info| info.plugin_type == name)
        .ok_or_else(|| LoadError::NoSuchPlugin {
            path: plugins[0].path.clone(),
            name: name.to_owned(),
            plugins: plugins
                .iter()
                .map(|info| info.plugin_type.clone())
                .collect(),
        })?;
    declaration::check_types(&plugins[index], &message, argument.as_ref()).map(|()| index)
}
