//! [`LoadError`]: every way a load is refused, from every stage, and its
//! `Display` (and `Debug`, the same sentence), which says what differed, the
//! host's value and the plugin's, and the fix. Only data and wording: no
//! stage's logic lives here.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::info::{PanicStrategy, PluginInfo, TypeInfo};
use crate::abi;
use crate::file_name::{crate_name_of, library_file_name};
use crate::shape::ShapeDifference;

/// Why a plugin was not loaded. Each variant names what differed, the host's
/// value and the plugin's, and what to do.
///
/// `Debug` prints the same sentence as `Display`: that is what a `main`
/// returning `Result<(), Box<dyn Error>>` shows for an error that `?` passed
/// up. The values are in the variant's fields: match on it to read them.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read or the dynamic loader refused it.
    Open {
        /// The path given.
        path: PathBuf,
        /// What the operating system or the dynamic loader said; for a file
        /// that is not there, followed by the likely causes and their fixes.
        message: String,
    },
    /// The file is not a loadable shared library for this machine (not one
    /// at all, truncated, for another architecture). Checked before the
    /// dynamic loader sees it: some malformed files crash it.
    NotALibrary {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The library exports no mpplugin declaration.
    NotAPlugin {
        /// The path given.
        path: PathBuf,
    },
    /// Not returned since libraries of several plugins load (see
    /// [`PluginLibrary::plugins`](crate::PluginLibrary::plugins)); kept so
    /// that code matching on it still compiles.
    SeveralPlugins {
        /// The path given.
        path: PathBuf,
        /// The declarations' symbols.
        symbols: Vec<String>,
    },
    /// The library declares several plugins and none of them handles the
    /// host's message type with the host's argument (or its absence).
    NoPluginFits {
        /// The path given.
        path: PathBuf,
        /// The host's message type (boxed, as the argument type, to keep
        /// every `Result` of the loader small).
        host: Box<TypeInfo>,
        /// The argument type the host gave, `None` for no argument.
        host_argument: Option<Box<TypeInfo>>,
        /// What each plugin of the library declares.
        plugins: Vec<PluginInfo>,
    },
    /// The library declares several plugins that handle the host's message
    /// type with the host's argument: pick one by name with
    /// [`instantiate_named`](crate::PluginLibrary::instantiate_named).
    AmbiguousPlugin {
        /// The path given.
        path: PathBuf,
        /// The plugin types that fit, as written in their impl blocks.
        candidates: Vec<String>,
        /// The host's message type (boxed, as the argument type, to keep
        /// every `Result` of the loader small).
        host: Box<TypeInfo>,
        /// The argument type the host gave, `None` for no argument.
        host_argument: Option<Box<TypeInfo>>,
    },
    /// The library declares no plugin type of the name asked for.
    NoSuchPlugin {
        /// The path given.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The plugin types it declares, as written in their impl blocks.
        plugins: Vec<String>,
    },
    /// The declaration does not start with mpplugin's magic value, or is too
    /// small to be one.
    BadDeclaration {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The plugin was built with another mpplugin ABI version.
    AbiVersion {
        /// The path given.
        path: PathBuf,
        /// The host's [`abi::ABI_VERSION`].
        host: u32,
        /// The plugin's.
        plugin: u32,
    },
    /// The plugin was built by another rustc.
    Rustc {
        /// The path given.
        path: PathBuf,
        /// The host's rustc.
        host: String,
        /// The plugin's rustc.
        plugin: String,
    },
    /// The plugin was built with another version of mpplugin. The ABI
    /// version names the declaration's layout; the types that cross the
    /// boundary (the `Plugin` trait's vtable, `Message`) are mpplugin's own,
    /// so the versions must match exactly.
    MppluginVersion {
        /// The path given.
        path: PathBuf,
        /// The host's mpplugin version.
        host: String,
        /// The plugin's.
        plugin: String,
    },
    /// The plugin was built for another target.
    Target {
        /// The path given.
        path: PathBuf,
        /// The host's target.
        host: String,
        /// The plugin's target.
        plugin: String,
    },
    /// The plugin handles another message type.
    MessageType {
        /// The path given.
        path: PathBuf,
        /// The host's message type.
        host: TypeInfo,
        /// The plugin's message type.
        plugin: TypeInfo,
    },
    /// The host's constructor argument (or its absence) does not match the
    /// plugin's.
    ArgumentType {
        /// The path given.
        path: PathBuf,
        /// The argument type the host gave, `None` for no argument.
        host: Option<TypeInfo>,
        /// The argument type the plugin takes, `None` for no argument.
        plugin: Option<TypeInfo>,
    },
    /// The plugin's message type has the host's name, size and alignment,
    /// but another shape: another definition of it (another version of the
    /// crate that defines it, or other features or `cfg`s).
    MessageShape {
        /// The path given.
        path: PathBuf,
        /// The first difference, from the type down (the type's name is
        /// the same on both sides: [`PluginInfo::message`](super::PluginInfo::message)).
        difference: ShapeDifference,
    },
    /// The plugin's argument type has the host's name, size and alignment,
    /// but another shape.
    ArgumentShape {
        /// The path given.
        path: PathBuf,
        /// The first difference, from the type down.
        difference: ShapeDifference,
    },
    /// The plugin was built with `panic = "abort"`: a panic in it would end
    /// the host.
    PanicStrategy {
        /// The path given.
        path: PathBuf,
        /// The plugin's strategy.
        plugin: PanicStrategy,
    },
    /// The plugin's `new` returned an error.
    ConstructorFailed {
        /// The path given.
        path: PathBuf,
        /// The error's message.
        message: String,
    },
    /// The plugin's `new` (or `Default`) panicked.
    ConstructorPanicked {
        /// The path given.
        path: PathBuf,
        /// The panic's message.
        message: String,
    },
    /// Users other than the owner and root can write to the plugin file or
    /// to a directory above it, so they could replace the plugin with code of
    /// their own (see [who may supply a plugin](mod@crate::load#who-may-supply-a-plugin)).
    /// [`OpenOptions::allow_writable_by_others`](crate::load::OpenOptions::allow_writable_by_others)
    /// loads it anyway.
    WritableByOthers {
        /// The path given.
        path: PathBuf,
        /// The file or directory that others can write to.
        writable: PathBuf,
        /// Its mode (permission bits, sticky bit included).
        mode: u32,
        /// Its group, by name (or number if it has none), when that group
        /// can write to it and has members other than the owner and root.
        group: Option<String>,
        /// Those members, by name; empty when they could not be read.
        group_members: Vec<String>,
        /// Whether every user can write to it.
        everyone: bool,
    },
}

impl LoadError {
    /// [`LoadError::Open`] for an error of the operating system's about
    /// `path`; a file that is not there was most likely never built.
    pub(super) fn cannot_open(path: &Path, error: &io::Error) -> Self {
        let mut message = error.to_string();
        if error.kind() == io::ErrorKind::NotFound {
            message.push_str("; either the plugin is not built yet: ");
            message.push_str(&build_command(path));
            message.push_str(", or its crate is not a cdylib: ");
            message.push_str(CDYLIB_FIX);
        }
        Self::Open {
            path: path.to_owned(),
            message,
        }
    }

    /// The same refusal of the file check, about `path`: the check ran on
    /// the private copy of the file the user named (see `copy.rs`).
    pub(super) fn about(mut self, path: &Path) -> Self {
        match &mut self {
            Self::Open { path: at, .. }
            | Self::NotALibrary { path: at, .. }
            | Self::NotAPlugin { path: at, .. }
            | Self::SeveralPlugins { path: at, .. } => *at = path.to_owned(),
            _ => {}
        }
        self
    }

    /// [`LoadError::Open`] for an error of the operating system's about the
    /// folder `path`, as it said it.
    pub(super) fn cannot_open_folder(path: &Path, error: &io::Error) -> Self {
        Self::Open {
            path: path.to_owned(),
            message: error.to_string(),
        }
    }
}

/// The fix for a plugin crate that builds no dynamic library.
const CDYLIB_FIX: &str =
    "add `crate-type = [\"cdylib\", \"rlib\"]` to the `[lib]` section of its Cargo.toml";

/// How to build the plugin whose library is (or should be) at `path`.
fn build_command(path: &Path) -> String {
    let Some(name) = crate_name_of(path) else {
        return "build its package with `cargo build -p <package>`".to_owned();
    };
    let dashed = name.replace('_', "-");
    if dashed == name {
        format!("build it with `cargo build -p {name}`")
    } else {
        format!(
            "build it with `cargo build -p {dashed}` (or `-p {name}`, whichever is its package's name)"
        )
    }
}

/// `no argument` or `argument `A` (size …, align …)`.
fn argument(info: Option<&TypeInfo>) -> String {
    match info {
        Some(info) => format!("argument {info}"),
        None => "no argument".to_owned(),
    }
}

fn optional(info: &Option<TypeInfo>) -> String {
    match info {
        Some(info) => info.to_string(),
        None => "no argument".to_owned(),
    }
}

/// `` `A` ``, `` `A` and `B` ``, `` `A`, `B` and `C` ``.
fn names(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "none".to_owned(),
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open { path, message } => {
                write!(f, "cannot open plugin `{}`: {message}", path.display())
            }
            Self::NotALibrary { path, reason } => {
                write!(
                    f,
                    "`{}` is not a loadable shared library: {reason}; give the path of a plugin's cdylib",
                    path.display()
                )?;
                if let Some(name) = crate_name_of(path) {
                    write!(f, " (`{}` for crate `{name}`)", library_file_name(&name))?;
                }
                write!(
                    f,
                    ". If there is none, either the plugin is not built yet: {}, or its crate is not a cdylib: {CDYLIB_FIX}",
                    build_command(path)
                )
            }
            Self::NotAPlugin { path } => write!(
                f,
                "`{}` is a shared library but not an mpplugin plugin: it exports no `{}*` declaration; build it from a crate with `#[mpplugin::plugin]` and `crate-type = [\"cdylib\"]`",
                path.display(),
                abi::SYMBOL_PREFIX
            ),
            Self::SeveralPlugins { path, symbols } => write!(
                f,
                "`{}` declares {} plugins ({}); this version of mpplugin loads one plugin per library: build each in a crate of its own",
                path.display(),
                symbols.len(),
                symbols.join(", ")
            ),
            Self::NoPluginFits {
                path,
                host,
                host_argument,
                plugins,
            } => {
                write!(
                    f,
                    "`{}` declares no plugin for messages of type {host} and {}, which this host asks for; it declares ",
                    path.display(),
                    argument(host_argument.as_deref())
                )?;
                for (index, info) in plugins.iter().enumerate() {
                    let separator = match index {
                        0 => "",
                        _ if index + 1 == plugins.len() => " and ",
                        _ => ", ",
                    };
                    write!(
                        f,
                        "{separator}`{}` (messages {}, {})",
                        info.plugin_type,
                        info.message,
                        argument(info.argument.as_ref())
                    )?;
                }
                f.write_str(": ask for the types one of them declares, or build a plugin against the host's types")
            }
            Self::AmbiguousPlugin {
                path,
                candidates,
                host,
                host_argument,
            } => {
                let call = match host_argument {
                    Some(_) => "instantiate_named_with::<T, A>(name, &argument)",
                    None => "instantiate_named::<T>(name)",
                };
                write!(
                    f,
                    "`{}` declares {} plugins for messages of type {host} and {}: {}; pick one by name with `{call}`",
                    path.display(),
                    candidates.len(),
                    argument(host_argument.as_deref()),
                    names(candidates)
                )
            }
            Self::NoSuchPlugin {
                path,
                name,
                plugins,
            } => write!(
                f,
                "`{}` declares no plugin named `{name}`; it declares {}: pass one of these names, the plugin type as written in its impl block",
                path.display(),
                names(plugins)
            ),
            Self::BadDeclaration { path, reason } => write!(
                f,
                "`{}` exports a corrupt mpplugin declaration: {reason}; rebuild the plugin",
                path.display()
            ),
            Self::AbiVersion { path, host, plugin } => write!(
                f,
                "plugin `{}` was built for mpplugin ABI version {plugin}, this host uses ABI version {host}: rebuild the plugin against the host's version of mpplugin",
                path.display()
            ),
            Self::Rustc { path, host, plugin } => write!(
                f,
                "plugin `{}` was built by {plugin}, this host by {host}: Rust has no stable ABI, so rebuild the plugin with the host's toolchain",
                path.display()
            ),
            Self::MppluginVersion { path, host, plugin } => write!(
                f,
                "plugin `{}` was built with mpplugin {plugin}, this host with mpplugin {host}: build both against the same version",
                path.display()
            ),
            Self::Target { path, host, plugin } => write!(
                f,
                "plugin `{}` was built for target `{plugin}`, this host for `{host}`: rebuild the plugin for `{host}`",
                path.display()
            ),
            Self::MessageType { path, host, plugin } => write!(
                f,
                "plugin `{}` handles messages of type {plugin}, this host sends {host}: host and plugin must be built against one message type: build both from the same version of the crate that defines it, with the same features (rebuild whichever is behind), or load this plugin into a host of its message type",
                path.display()
            ),
            Self::ArgumentType { path, host, plugin } => {
                let fix = match (host, plugin) {
                    (Some(_), None) => "load it with `load`/`instantiate`, without an argument",
                    (None, Some(_)) => {
                        "load it with `load_with`/`instantiate_with` and an argument of its type"
                    }
                    _ => {
                        "host and plugin must agree on one argument type: build both against the same definition of it, or pass an argument of the type the plugin's `new` takes"
                    }
                };
                write!(
                    f,
                    "plugin `{}` takes {} as its argument, this host gives {}: {fix}",
                    path.display(),
                    optional(plugin),
                    optional(host)
                )
            }
            Self::MessageShape { path, difference } => write!(
                f,
                "plugin `{}` reads its messages laid out otherwise than this host: at `{}` the host has {} and the plugin has {}: build the host and the plugin against the same version of the crate that defines the message type, with the same features and cfgs",
                path.display(),
                difference.path,
                difference.host,
                difference.plugin
            ),
            Self::ArgumentShape { path, difference } => write!(
                f,
                "plugin `{}` reads its constructor's argument laid out otherwise than this host: at `{}` the host has {} and the plugin has {}: build the host and the plugin against the same version of the crate that defines the argument type, with the same features and cfgs",
                path.display(),
                difference.path,
                difference.host,
                difference.plugin
            ),
            Self::PanicStrategy { path, plugin } => write!(
                f,
                "plugin `{}` was built with `panic = \"{plugin}\"`: a panic in it would abort the host; build it with `panic = \"unwind\"` (the default) so that mpplugin can contain its panics",
                path.display()
            ),
            Self::ConstructorFailed { path, message } => write!(
                f,
                "plugin `{}` refused to start: its `new` returned an error: {message}",
                path.display()
            ),
            Self::ConstructorPanicked { path, message } => write!(
                f,
                "plugin `{}` panicked while being constructed: {message}",
                path.display()
            ),
            Self::WritableByOthers {
                path,
                writable,
                mode,
                group,
                group_members,
                everyone,
            } => {
                let writable = writable.display();
                write!(
                    f,
                    "refusing to load plugin `{}`: `{writable}` (mode {:04o}) is writable by ",
                    path.display(),
                    mode & 0o7777
                )?;
                match (group, everyone) {
                    (_, true) => f.write_str("every user")?,
                    (Some(group), false) if group_members.is_empty() => write!(
                        f,
                        "group `{group}`, whose members the name service cannot list"
                    )?,
                    (Some(group), false) => write!(
                        f,
                        "group `{group}`, whose members include {}",
                        group_members.join(", ")
                    )?,
                    (None, false) => f.write_str("users other than its owner")?,
                }
                let who = match (group, everyone) {
                    (Some(_), true) => "go",
                    (None, true) => "o",
                    _ => "g",
                };
                write!(
                    f,
                    ", who could replace the plugin with code of their own: run `chmod {who}-w {writable}`, or, if you trust everyone who can write there, open it with `PluginLibrary::open_with` and `OpenOptions::allow_writable_by_others(true)`"
                )
            }
        }
    }
}

impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error for LoadError {}
