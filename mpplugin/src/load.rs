//! Loading plugins from dynamic libraries: the file is validated, the
//! declaration found and checked, and only then is the constructor called.
//!
//! # Library lifetime
//!
//! A library, once opened, stays loaded until the process exits: mpplugin
//! never closes it. Rust code hands out `&'static` data (string literals,
//! vtables, function pointers) freely, and a plugin may have given some to the
//! host or left a thread running; closing the library would leave those
//! dangling. Opening the same path again reuses the loaded library (the
//! dynamic loader counts references), so loading, using and dropping plugins
//! many times costs no memory per cycle. Every [`LoadedPlugin`] still holds a
//! counted handle to its [`PluginLibrary`] and drops the plugin before the
//! handle, so that a future policy that closes libraries stays sound.
//!
//! Because a library stays loaded, opening the same path again while the file
//! is unchanged (same device, inode, size and modification time) returns the
//! library already opened, validated and checked, without reading the file
//! again. Opening a path whose file was replaced since it was loaded is
//! refused with [`LoadError::Open`]: the dynamic loader would hand back the
//! library first loaded from that path. To load a rebuilt plugin into a
//! running process, give the new build a new path.
//!
//! # Who may supply a plugin
//!
//! Loading a plugin runs its code with the host's rights, so whoever can
//! replace the file can take over the host. By default (unix),
//! [`PluginLibrary::open`] therefore refuses, with
//! [`LoadError::WritableByOthers`], a plugin file that users other than its
//! owner and root can write to, or that sits below such a directory: every
//! ancestor of the canonical path up to `/` is checked, and so are the
//! directories of the path as given and every directory, with its
//! ancestors, that holds a symbolic link followed on the way, including
//! links in the target of another link (a link in a writable directory can
//! be replaced too). As ssh does for keys:
//!
//! - write permission for everyone counts;
//! - write permission for the group counts unless the group has no member
//!   other than the owner and root (a user's private group, as Debian gives
//!   each user with umask 002), read from `/etc/passwd` and `/etc/group`
//!   (again whenever either file changes); a group not found there counts;
//! - a directory with the sticky bit (such as `/tmp`) does not count: there
//!   only the owner of an entry, the directory's owner and root can rename
//!   or remove it.
//!
//! Only permission bits are read, not ACLs. A path that is not a regular
//! file is not checked (it is refused as [`LoadError::NotALibrary`]).
//! [`OpenOptions::allow_writable_by_others`] loads such a plugin anyway, for
//! setups where everyone who can write there is trusted.
//!
//! The check runs on every open, before the libraries already opened are
//! looked up: permissions can change without changing the file (a `chmod`
//! of a directory above it), and a refusal depends on how things stand at
//! the time of the call, not on an earlier open with the override. A library
//! already loaded stays loaded either way.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error;
use std::ffi::c_void;
use std::fmt;
use std::fs::File;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use object::read::{ReadCache, ReadRef};
use object::{Object, ObjectSegment, ObjectSymbol};

use crate::abi::{
    self, ConstructStatus, DeclarationPrefix, PluginDeclaration, StrRef, TypeDescriptor,
};
use crate::plugin::Handled;
use crate::{Message, Plugin};

/// A type's identity as the loader compares it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeInfo {
    /// `std::any::type_name` of the type.
    pub name: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its alignment in bytes.
    pub align: usize,
}

impl TypeInfo {
    /// The identity of `X` in this build.
    pub fn of<X>() -> Self {
        Self {
            name: std::any::type_name::<X>().to_owned(),
            size: size_of::<X>(),
            align: align_of::<X>(),
        }
    }
}

impl fmt::Display for TypeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` (size {}, align {})",
            self.name, self.size, self.align
        )
    }
}

/// How a plugin was built to handle panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicStrategy {
    /// `panic = "unwind"`: panics are caught inside the plugin and reported.
    Unwind,
    /// `panic = "abort"`: any panic ends the whole process.
    Abort,
    /// A value this version of mpplugin does not know.
    Unknown(u32),
}

impl fmt::Display for PanicStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unwind => f.write_str("unwind"),
            Self::Abort => f.write_str("abort"),
            Self::Unknown(value) => write!(f, "unknown ({value})"),
        }
    }
}

/// What a plugin library declares about itself, read without constructing
/// anything.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginInfo {
    /// The library's path, as given to [`PluginLibrary::open`].
    pub path: PathBuf,
    /// The exported symbol of the declaration.
    pub symbol: String,
    /// The plugin crate's package name.
    pub name: String,
    /// The plugin crate's package version.
    pub version: String,
    /// The plugin type, as written in its impl block.
    pub plugin_type: String,
    /// The message type `T` of its `Plugin<T>`.
    pub message: TypeInfo,
    /// The constructor's argument type, if it takes one.
    pub argument: Option<TypeInfo>,
    /// The rustc that built it (release, commit, date).
    pub rustc: String,
    /// The target it was built for.
    pub target: String,
    /// The version of mpplugin it was built with.
    pub mpplugin_version: String,
    /// The mpplugin ABI version it was built with.
    pub abi_version: u32,
    /// How it handles panics.
    pub panic_strategy: PanicStrategy,
}

impl fmt::Display for PluginInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plugin    {} {} (type `{}`)",
            self.name, self.version, self.plugin_type
        )?;
        writeln!(f, "file      {}", self.path.display())?;
        writeln!(f, "symbol    {}", self.symbol)?;
        writeln!(f, "message   {}", self.message)?;
        match &self.argument {
            Some(argument) => writeln!(f, "argument  {argument}")?,
            None => writeln!(f, "argument  none")?,
        }
        writeln!(f, "rustc     {}", self.rustc)?;
        writeln!(f, "target    {}", self.target)?;
        writeln!(
            f,
            "mpplugin  {} (ABI {})",
            self.mpplugin_version, self.abi_version
        )?;
        write!(f, "panic     {}", self.panic_strategy)
    }
}

/// Why a plugin was not loaded. Each variant names what differed, the host's
/// value and the plugin's, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read or the dynamic loader refused it.
    Open {
        /// The path given.
        path: PathBuf,
        /// What the operating system or the dynamic loader said.
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
    /// The library exports more than one declaration; this version of
    /// mpplugin loads one plugin per library.
    SeveralPlugins {
        /// The path given.
        path: PathBuf,
        /// The declarations' symbols.
        symbols: Vec<String>,
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
    /// [`OpenOptions::allow_writable_by_others`] loads it anyway.
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

fn optional(info: &Option<TypeInfo>) -> String {
    match info {
        Some(info) => info.to_string(),
        None => "no argument".to_owned(),
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open { path, message } => {
                write!(f, "cannot open plugin `{}`: {message}", path.display())
            }
            Self::NotALibrary { path, reason } => write!(
                f,
                "`{}` is not a loadable shared library: {reason}; give the path of the plugin's cdylib (e.g. `target/debug/lib<name>.so`)",
                path.display()
            ),
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
                "plugin `{}` handles messages of type {plugin}, this host sends {host}: build the plugin against the host's message type, from the same crate and version",
                path.display()
            ),
            Self::ArgumentType { path, host, plugin } => {
                let fix = match (host, plugin) {
                    (Some(_), None) => "load it with `load`/`instantiate`, without an argument",
                    (None, Some(_)) => {
                        "load it with `load_with`/`instantiate_with` and an argument of its type"
                    }
                    _ => "pass an argument of the type its `new` takes",
                };
                write!(
                    f,
                    "plugin `{}` takes {} as its argument, this host gives {}: {fix}",
                    path.display(),
                    optional(plugin),
                    optional(host)
                )
            }
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
                        "group `{group}`, whose members cannot be read from /etc/group"
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

impl Error for LoadError {}

struct LibraryInner {
    /// Never dropped: libraries are never closed (see the module docs).
    _library: ManuallyDrop<libloading::Library>,
    declaration: &'static PluginDeclaration,
    info: PluginInfo,
}

/// An opened plugin library: its declaration read, nothing constructed yet.
/// Cheap to clone; every clone and every plugin made from it share the one
/// loaded library.
#[derive(Clone)]
pub struct PluginLibrary {
    inner: Arc<LibraryInner>,
}

impl fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("info", &self.inner.info)
            .finish_non_exhaustive()
    }
}

/// Loads the plugin at `path`, which takes no constructor argument, and
/// constructs one instance: [`PluginLibrary::open`] then
/// [`PluginLibrary::instantiate`].
///
/// # Safety
/// See [`PluginLibrary::open`].
///
/// # Errors
/// Every refusal of [`PluginLibrary::open`] and
/// [`PluginLibrary::instantiate`].
pub unsafe fn load<T: Send + Sync + 'static>(
    path: impl AsRef<Path>,
) -> Result<LoadedPlugin<T>, LoadError> {
    // SAFETY: forwarded to the caller.
    unsafe { PluginLibrary::open(path) }?.instantiate()
}

/// Loads the plugin at `path` and constructs one instance from `argument`:
/// [`PluginLibrary::open`] then [`PluginLibrary::instantiate_with`].
///
/// # Safety
/// See [`PluginLibrary::open`].
///
/// # Errors
/// Every refusal of [`PluginLibrary::open`] and
/// [`PluginLibrary::instantiate_with`].
pub unsafe fn load_with<T: Send + Sync + 'static, A: 'static>(
    path: impl AsRef<Path>,
    argument: &A,
) -> Result<LoadedPlugin<T>, LoadError> {
    // SAFETY: forwarded to the caller.
    unsafe { PluginLibrary::open(path) }?.instantiate_with(argument)
}

/// How [`PluginLibrary::open_with`] opens a library. The default is what
/// [`PluginLibrary::open`] does.
///
/// ```no_run
/// use mpplugin::PluginLibrary;
/// use mpplugin::load::OpenOptions;
///
/// // The plugins directory is group-writable on purpose: its group is the
/// // team that deploys plugins, and the host trusts them.
/// let options = OpenOptions::new().allow_writable_by_others(true).clone();
/// // SAFETY: built from source we trust, with our toolchain and allocator.
/// let library = unsafe { PluginLibrary::open_with("/srv/plugins/libcounter.so", &options) }?;
/// let plugin = library.instantiate::<u64>()?;
/// # Ok::<(), mpplugin::LoadError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    allow_writable_by_others: bool,
}

impl OpenOptions {
    /// The defaults: those of [`PluginLibrary::open`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to load a plugin file that users other than its owner and
    /// root can write to, or that sits below a directory they can write to
    /// (default `false`: refused with [`LoadError::WritableByOthers`]; see
    /// [who may supply a plugin](mod@crate::load#who-may-supply-a-plugin)).
    /// Set it only when everyone who can write there is trusted with the
    /// host's rights.
    pub fn allow_writable_by_others(&mut self, allow: bool) -> &mut Self {
        self.allow_writable_by_others = allow;
        self
    }
}

impl PluginLibrary {
    /// Opens the plugin library at `path` and reads its declaration.
    ///
    /// On unix, a plugin file that users other than its owner and root can
    /// write to, or that sits below a directory they can write to, is
    /// refused first (see [who may supply a
    /// plugin](mod@crate::load#who-may-supply-a-plugin));
    /// [`open_with`](Self::open_with) can allow it.
    ///
    /// Before the dynamic loader sees the file, it is checked to be a
    /// complete shared library for this machine's architecture (a truncated
    /// one can crash the dynamic loader). Then its exported symbols are
    /// searched for exactly one mpplugin declaration, whose magic value, ABI
    /// version and size are checked before anything else in it is read.
    ///
    /// The checks that decide whether a plugin may be constructed (rustc,
    /// target, message and argument types, panic strategy) come with
    /// [`instantiate`](Self::instantiate) and [`check`](Self::check), so that
    /// a refused library can still be inspected with [`info`](Self::info).
    ///
    /// The library is never closed: see the [module docs](mod@crate::load) for
    /// why.
    ///
    /// # Safety
    /// Opening a library runs its initialisers, which are arbitrary code, and
    /// everything the checks compare is what the library says about itself.
    /// The caller guarantees what no check can see:
    ///
    /// - **Trusted code.** The library is built from source you trust, by
    ///   `#[mpplugin::plugin]`.
    /// - **One definition of every shared type.** The message and argument
    ///   types are compared by `type_name`, size and alignment. Two different
    ///   definitions that agree on those (another version of the types
    ///   crate, or the same version built with other features or `cfg`s
    ///   that add, remove or reorder variants or fields) pass the check and
    ///   are undefined behaviour. Build host and plugins against one version
    ///   of the types crate, with the same features.
    /// - **One allocator instance.** Memory crosses the boundary and is freed
    ///   by the side that did not allocate it: messages and everything they
    ///   own, replies sent back through channels, a constructor's error
    ///   message, panic messages. Both sides must use the same allocator
    ///   instance: the system allocator (the default on both sides). A
    ///   `#[global_allocator]` in the host or the plugin, even the same
    ///   crate on both sides, is a second instance (a cdylib links its own
    ///   copy) and is undefined behaviour.
    /// - **Panics stay behind the vtable.** Panics are contained where the
    ///   host calls the plugin through [`Plugin`]; a closure or trait object
    ///   that one side puts in a message and the other calls is plain code
    ///   of the first side, and a panic in it aborts the process.
    ///
    /// # Errors
    /// [`LoadError::Open`], [`LoadError::WritableByOthers`],
    /// [`LoadError::NotALibrary`], [`LoadError::NotAPlugin`],
    /// [`LoadError::SeveralPlugins`], [`LoadError::BadDeclaration`],
    /// [`LoadError::AbiVersion`].
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        // SAFETY: forwarded to the caller.
        unsafe { Self::open_with(path, &OpenOptions::new()) }
    }

    /// [`open`](Self::open) with options: the way to load a plugin that
    /// others can write to, when they are trusted.
    ///
    /// # Safety
    /// As [`open`](Self::open): loading runs the library's code.
    ///
    /// # Errors
    /// As [`open`](Self::open); never [`LoadError::WritableByOthers`] with
    /// [`OpenOptions::allow_writable_by_others`].
    pub unsafe fn open_with(
        path: impl AsRef<Path>,
        options: &OpenOptions,
    ) -> Result<Self, LoadError> {
        let path = path.as_ref();
        // One look at the file serves the check, the look-up and the refusal
        // of what is not a regular file.
        let metadata = if options.allow_writable_by_others {
            std::fs::metadata(path).map_err(|error| LoadError::Open {
                path: path.to_owned(),
                message: error.to_string(),
            })?
        } else {
            check_writers(path)?
        };
        let identity = FileIdentity::of(&metadata);
        if let Some(identity) = &identity {
            if let Some((loaded, library)) = opened().get(path) {
                if loaded == identity {
                    return Ok(library.clone());
                }
                // The dynamic loader matches a path it has loaded before by
                // name and would hand back the old library, not the file
                // there now.
                return Err(LoadError::Open {
                    path: path.to_owned(),
                    message: "the file was replaced after this path was loaded, and the dynamic loader keeps the library first loaded from a path for the life of the process: load the new build from a new path".to_owned(),
                });
            }
        }
        // SAFETY: forwarded to the caller.
        let library = unsafe { Self::open_file(path, &metadata) }?;
        if let Some(identity) = identity {
            opened()
                .entry(path.to_owned())
                .or_insert_with(|| (identity, library.clone()));
        }
        Ok(library)
    }

    /// `open` without the look-up of libraries already opened; `metadata`
    /// is the file's.
    ///
    /// # Safety
    /// As `open`.
    unsafe fn open_file(path: &Path, metadata: &std::fs::Metadata) -> Result<Self, LoadError> {
        let (symbol, symbol_size) = find_declaration(path, metadata)?;
        // SAFETY: the caller trusts the library's initialisers, which this
        // runs; the file was checked to be a complete shared library.
        let library =
            unsafe { libloading::Library::new(path) }.map_err(|error| LoadError::Open {
                path: path.to_owned(),
                message: error.to_string(),
            })?;
        // SAFETY: the symbol is a data symbol; asking for its address as a
        // raw pointer reads nothing.
        let address = unsafe { library.get::<*const c_void>(symbol.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|error| LoadError::Open {
                path: path.to_owned(),
                message: error.to_string(),
            })?;
        // SAFETY: the library stays loaded for the rest of the process (it is
        // never closed), and `address` is the address of the exported symbol,
        // of `symbol_size` bytes when the file says so.
        let declaration = unsafe { read_declaration(path, address, symbol_size) }?;
        // SAFETY: as above; the prefix matched, so the layout is this ABI's.
        let info = unsafe { describe(path, &symbol, declaration) }?;
        Ok(Self {
            inner: Arc::new(LibraryInner {
                _library: ManuallyDrop::new(library),
                declaration,
                info,
            }),
        })
    }

    /// What the library declares: read when it was opened, nothing
    /// constructed.
    pub fn info(&self) -> &PluginInfo {
        &self.inner.info
    }

    /// Whether [`instantiate::<T>`](Self::instantiate) would pass the checks
    /// (it may still fail in the plugin's constructor).
    ///
    /// # Errors
    /// The first check that fails, in this order: [`LoadError::Rustc`],
    /// [`LoadError::MppluginVersion`], [`LoadError::Target`], [`LoadError::MessageType`],
    /// [`LoadError::ArgumentType`], [`LoadError::PanicStrategy`].
    pub fn check<T: 'static>(&self) -> Result<(), LoadError> {
        self.check_types(TypeInfo::of::<T>(), None)
    }

    /// Whether [`instantiate_with::<T, A>`](Self::instantiate_with) would
    /// pass the checks.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_with<T: 'static, A: 'static>(&self) -> Result<(), LoadError> {
        self.check_types(TypeInfo::of::<T>(), Some(TypeInfo::of::<A>()))
    }

    /// The checks that need no message type: rustc, target and panic
    /// strategy. What an inspector that does not know the host's types can
    /// tell.
    ///
    /// # Errors
    /// [`LoadError::Rustc`], [`LoadError::MppluginVersion`], [`LoadError::Target`],
    /// [`LoadError::PanicStrategy`].
    pub fn check_build(&self) -> Result<(), LoadError> {
        self.check_toolchain()?;
        self.check_panic_strategy()
    }

    fn check_toolchain(&self) -> Result<(), LoadError> {
        let info = &self.inner.info;
        let path = || info.path.clone();
        if info.rustc != abi::RUSTC {
            return Err(LoadError::Rustc {
                path: path(),
                host: abi::RUSTC.to_owned(),
                plugin: info.rustc.clone(),
            });
        }
        if info.mpplugin_version != abi::MPPLUGIN_VERSION {
            return Err(LoadError::MppluginVersion {
                path: path(),
                host: abi::MPPLUGIN_VERSION.to_owned(),
                plugin: info.mpplugin_version.clone(),
            });
        }
        if info.target != abi::TARGET {
            return Err(LoadError::Target {
                path: path(),
                host: abi::TARGET.to_owned(),
                plugin: info.target.clone(),
            });
        }
        Ok(())
    }

    fn check_panic_strategy(&self) -> Result<(), LoadError> {
        let info = &self.inner.info;
        if info.panic_strategy != PanicStrategy::Unwind {
            return Err(LoadError::PanicStrategy {
                path: info.path.clone(),
                plugin: info.panic_strategy,
            });
        }
        Ok(())
    }

    fn check_types(&self, message: TypeInfo, argument: Option<TypeInfo>) -> Result<(), LoadError> {
        self.check_toolchain()?;
        let info = &self.inner.info;
        if info.message != message {
            return Err(LoadError::MessageType {
                path: info.path.clone(),
                host: message,
                plugin: info.message.clone(),
            });
        }
        if info.argument != argument {
            return Err(LoadError::ArgumentType {
                path: info.path.clone(),
                host: argument,
                plugin: info.argument.clone(),
            });
        }
        self.check_panic_strategy()
    }

    /// Checks the library against message type `T` and no argument, then
    /// constructs a plugin (from its `new()` or `Default`). Call it as often
    /// as you like: each call makes a new, independent instance.
    ///
    /// # Errors
    /// Every refusal of [`check`](Self::check), then
    /// [`LoadError::ConstructorFailed`] or
    /// [`LoadError::ConstructorPanicked`].
    pub fn instantiate<T: Send + Sync + 'static>(&self) -> Result<LoadedPlugin<T>, LoadError> {
        self.check::<T>()?;
        // SAFETY: the declaration says the constructor takes no argument
        // (checked just now), so it does not read the null pointer.
        unsafe { self.construct(std::ptr::null()) }
    }

    /// Checks the library against message type `T` and argument type `A`,
    /// then constructs a plugin from its `new(&A)`.
    ///
    /// # Errors
    /// Every refusal of [`check_with`](Self::check_with), then
    /// [`LoadError::ConstructorFailed`] or
    /// [`LoadError::ConstructorPanicked`].
    pub fn instantiate_with<T: Send + Sync + 'static, A: 'static>(
        &self,
        argument: &A,
    ) -> Result<LoadedPlugin<T>, LoadError> {
        self.check_with::<T, A>()?;
        // SAFETY: the plugin's argument type is `A` (checked just now).
        unsafe { self.construct((argument as *const A).cast()) }
    }

    /// # Safety
    /// The checks for `T` passed, and `argument` is what the declaration's
    /// constructor expects.
    unsafe fn construct<T: 'static>(
        &self,
        argument: *const c_void,
    ) -> Result<LoadedPlugin<T>, LoadError> {
        let mut plugin = MaybeUninit::<Box<dyn Plugin<T>>>::uninit();
        let mut error = MaybeUninit::<String>::uninit();
        // SAFETY: the declaration was checked: same rustc, target and ABI, and
        // the plugin's message type is `T`, so the constructor writes a
        // `Box<dyn Plugin<T>>` or a `String` exactly as `Constructor`
        // documents; it catches its own panics.
        let status = unsafe {
            (self.inner.declaration.constructor)(
                argument,
                plugin.as_mut_ptr().cast(),
                error.as_mut_ptr().cast(),
            )
        };
        let path = || self.inner.info.path.clone();
        match status {
            ConstructStatus::Constructed => Ok(LoadedPlugin {
                // SAFETY: `Constructed` means the plugin was written.
                plugin: Some(unsafe { plugin.assume_init() }),
                library: self.clone(),
            }),
            ConstructStatus::Failed => Err(LoadError::ConstructorFailed {
                path: path(),
                // SAFETY: any status but `Constructed` means the error was written.
                message: unsafe { error.assume_init() },
            }),
            ConstructStatus::Panicked => Err(LoadError::ConstructorPanicked {
                path: path(),
                // SAFETY: as above.
                message: unsafe { error.assume_init() },
            }),
        }
    }
}

/// What makes an opened library the same on the next `open` of its path: the
/// file the path names, unchanged.
#[derive(Clone, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
    size: u64,
    modified: (i64, i64),
}

impl FileIdentity {
    /// `None` where the platform offers no inode to tell files apart: then
    /// every `open` reads the file.
    fn of(metadata: &std::fs::Metadata) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Self {
                device: metadata.dev(),
                inode: metadata.ino(),
                size: metadata.size(),
                modified: (metadata.mtime(), metadata.mtime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            None
        }
    }
}

/// The libraries opened so far, by the path they were opened from: the
/// dynamic loader's key too, and one look-up finds both the library to reuse
/// and a path whose file was replaced. They are never closed, so this only
/// grows by one entry per distinct path opened.
fn opened() -> MutexGuard<'static, HashMap<PathBuf, (FileIdentity, PluginLibrary)>> {
    static OPENED: LazyLock<Mutex<HashMap<PathBuf, (FileIdentity, PluginLibrary)>>> =
        LazyLock::new(Mutex::default);
    OPENED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Validates the file and finds the one declaration among its exported
/// symbols: its name, and its size when the format records it (0 if not).
/// `metadata` is the file's, read before it is opened: opening a FIFO for
/// reading waits for a writer.
fn find_declaration(path: &Path, metadata: &std::fs::Metadata) -> Result<(String, u64), LoadError> {
    if !metadata.is_file() {
        return Err(LoadError::NotALibrary {
            path: path.to_owned(),
            reason: "it is not a regular file".to_owned(),
        });
    }
    let file = File::open(path).map_err(|error| LoadError::Open {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    // The file opened may not be the one looked at (replaced or truncated in
    // between, as `cp` onto a plugin does): its bounds must be this one's,
    // or a truncated file could reach `dlopen`.
    let opened = file.metadata().map_err(|error| LoadError::Open {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    if !opened.is_file() {
        return Err(LoadError::NotALibrary {
            path: path.to_owned(),
            reason: "it is not a regular file".to_owned(),
        });
    }
    let length = opened.len();
    let mut found = match read_elf_declarations(&file, length) {
        Some(found) => found,
        // Not ELF, or refused: the full parse says why, in its own words.
        None => declarations(&ReadCache::new(file), length).map_err(|reason| {
            LoadError::NotALibrary {
                path: path.to_owned(),
                reason,
            }
        })?,
    };
    match found.len() {
        0 => Err(LoadError::NotAPlugin {
            path: path.to_owned(),
        }),
        1 => Ok(found.remove(0)),
        _ => Err(LoadError::SeveralPlugins {
            path: path.to_owned(),
            symbols: found.into_iter().map(|(name, _)| name).collect(),
        }),
    }
}

/// The declarations a file of `length` bytes exports, by name and size, once
/// it is checked to be a complete shared library for this machine; or what
/// is wrong with it.
fn declarations<'data>(
    data: impl ReadRef<'data>,
    length: u64,
) -> Result<Vec<(String, u64)>, String> {
    let object = object::File::parse(data).map_err(|error| format!("{error}"))?;
    if object.kind() != object::ObjectKind::Dynamic {
        return Err(format!(
            "it is a {:?} object file, not a shared library",
            object.kind()
        ));
    }
    if let Some((host, ..)) = host_architecture() {
        if object.architecture() != host {
            return Err(format!(
                "it is built for {:?}, this host runs on {host:?}",
                object.architecture()
            ));
        }
    }
    let program_headers = match &object {
        object::File::Elf32(elf) => Some(elf_program_headers(elf.elf_header(), elf.endian())),
        object::File::Elf64(elf) => Some(elf_program_headers(elf.elf_header(), elf.endian())),
        _ => None,
    };
    if let Some((offset, entry_size, count, expected_size)) = program_headers {
        // The dynamic loader reads the program headers as the header gives
        // them, without the checks of a parser: a count of 0xffff (which
        // tells a parser to look elsewhere) made it crash here.
        if count == 0 || count == 0xffff || entry_size != expected_size {
            return Err(format!(
                "its ELF header declares {count} program header(s) of {entry_size} bytes, where a shared library has 1 to 65534 of {expected_size}"
            ));
        }
        if !program_headers_fit(offset, entry_size, count, length) {
            return Err(format!(
                "it is truncated: its program headers at byte {offset} run past the end of the {length}-byte file"
            ));
        }
        if object.segments().next().is_none() {
            return Err("it has no loadable segment".to_owned());
        }
    }
    for segment in object.segments() {
        let (offset, size) = segment.file_range();
        if !range_fits(offset, size, length) {
            return Err(format!(
                "it is truncated: a segment spans bytes {offset}..{} of a {length}-byte file",
                offset.saturating_add(size)
            ));
        }
    }
    let mut found = Vec::new();
    if object.format() == object::BinaryFormat::Elf {
        for symbol in object.dynamic_symbols() {
            if !symbol.is_definition() {
                continue;
            }
            if let Ok(name) = symbol.name() {
                if name.starts_with(abi::SYMBOL_PREFIX) {
                    found.push((name.to_owned(), symbol.size()));
                }
            }
        }
    } else {
        for export in object.exports().map_err(|error| format!("{error}"))? {
            let name = String::from_utf8_lossy(export.name());
            // Mach-O prefixes C symbols with an underscore; dlsym adds it back.
            let name = name
                .strip_prefix('_')
                .filter(|_| object.format() == object::BinaryFormat::MachO)
                .unwrap_or(&name);
            if name.starts_with(abi::SYMBOL_PREFIX) {
                found.push((name.to_owned(), 0));
            }
        }
    }
    Ok(found)
}

/// [`declarations`] for an ELF file that passes every check, reading only
/// what the checks look at: the headers at the start of the file, the
/// section headers at its end, the dynamic symbols and their names, a page
/// or two in all. `None` for any other file, and where a check fails:
/// `declarations` then says what is wrong.
fn read_elf_declarations(file: &File, length: u64) -> Option<Vec<(String, u64)>> {
    let mut parts = Parts::new(length);
    let mut wanted = vec![(0, Parts::PAGE)];
    // Each pass reads what the last one asked for and did not find: the
    // section headers, then (if not among the pages already read) the
    // dynamic symbols, then their names.
    for _ in 0..8 {
        for (offset, end) in wanted {
            parts.fetch(file, offset, end).ok()?;
        }
        let found = elf_declarations(&parts, length);
        wanted = parts.missed.take();
        if wanted.is_empty() {
            return found;
        }
    }
    None
}

/// [`declarations`] for an ELF file that passes every check, without
/// reading what nothing here looks at: `object::File::parse` reads the whole
/// static symbol table (`.symtab`), often the largest part of a plugin after
/// its debug information, where the declaration is found in the dynamic one.
/// The same checks in the same order, on the same low-level parse; the
/// static symbol table only where it lies, as `ElfFile::parse` checks it.
/// `None` for any other file, and for any check that fails.
fn elf_declarations<'data>(data: impl ReadRef<'data>, length: u64) -> Option<Vec<(String, u64)>> {
    use object::{Endianness, elf};
    match object::FileKind::parse(data).ok()? {
        object::FileKind::Elf32 => {
            elf_declarations_of::<elf::FileHeader32<Endianness>, _>(data, length)
        }
        object::FileKind::Elf64 => {
            elf_declarations_of::<elf::FileHeader64<Endianness>, _>(data, length)
        }
        _ => None,
    }
}

fn elf_declarations_of<'data, Elf, R>(data: R, length: u64) -> Option<Vec<(String, u64)>>
where
    Elf: object::read::elf::FileHeader<Endian = object::Endianness>,
    R: ReadRef<'data>,
{
    use object::elf;
    use object::read::SectionIndex;
    use object::read::elf::{ProgramHeader as _, SectionHeader as _, Sym as _};

    // What `ElfFile::parse` reads and checks.
    let header = Elf::parse(data).ok()?;
    let endian = header.endian().ok()?;
    let segments = header.program_headers(endian, data).ok()?;
    let sections = header.sections(endian, data).ok()?;
    let symbol_table = match sections
        .enumerate()
        .find(|(_, section)| section.sh_type(endian) == elf::SHT_SYMTAB)
    {
        None => SectionIndex(0),
        Some((index, section)) => {
            // Its symbols: inside the file, a whole number of them.
            if let Some((offset, size)) = section.file_range(endian) {
                let whole = size % size_of::<Elf::Sym>() as u64 == 0;
                if size != 0 && !(whole && range_fits(offset, size, length)) {
                    return None;
                }
            }
            // Its strings (read lazily, so this reads nothing).
            let strings = SectionIndex(section.sh_link(endian) as usize);
            sections.strings(endian, data, strings).ok()?;
            // Extended section indices come with more than 65279 sections:
            // not worth a fast path.
            if sections
                .iter()
                .any(|section| section.sh_type(endian) == elf::SHT_SYMTAB_SHNDX)
            {
                return None;
            }
            index
        }
    };
    let dynamic = sections.symbols(endian, data, elf::SHT_DYNSYM).ok()?;
    sections.relocation_sections(endian, symbol_table).ok()?;

    // What `declarations` checks.
    if header.e_type(endian) != elf::ET_DYN {
        return None;
    }
    if let Some((_, machine, is_64)) = host_architecture() {
        if (header.e_machine(endian), header.is_class_64()) != (machine, is_64) {
            return None;
        }
    }
    let (offset, entry_size, count, expected_size) = elf_program_headers(header, endian);
    if count == 0
        || count == 0xffff
        || entry_size != expected_size
        || !program_headers_fit(offset, entry_size, count, length)
    {
        return None;
    }
    let mut loadable = segments
        .iter()
        .filter(|segment| segment.p_type(endian) == elf::PT_LOAD)
        .peekable();
    loadable.peek()?;
    for segment in loadable {
        let (offset, size) = segment.file_range(endian);
        if !range_fits(offset, size, length) {
            return None;
        }
    }
    let strings = dynamic.strings();
    // Symbol 0 is the null symbol, which `ElfFile`'s iterator skips.
    let found = dynamic
        .symbols()
        .iter()
        .skip(1)
        .filter(|symbol| symbol.is_definition(endian))
        .filter_map(|symbol| {
            let name = std::str::from_utf8(symbol.name(endian, strings).ok()?).ok()?;
            name.starts_with(abi::SYMBOL_PREFIX)
                .then(|| (name.to_owned(), symbol.st_size(endian).into()))
        })
        .collect();
    Some(found)
}

/// Whether the program header table lies inside a file of `length` bytes.
fn program_headers_fit(offset: u64, entry_size: u16, count: u16, length: u64) -> bool {
    let size = u64::from(count) * u64::from(entry_size);
    range_fits(offset, size, length)
}

/// Whether bytes `offset..offset + size` lie inside a file of `length` bytes.
fn range_fits(offset: u64, size: u64, length: u64) -> bool {
    offset.checked_add(size).is_some_and(|end| end <= length)
}

/// The parts of a file read so far, for `object` to parse in place. What it
/// asks for beyond them is not read but noted, in `missed`: the caller reads
/// that and parses again. Reads go by whole pages, at an offset, so that the
/// few structures the checks look at cost a read or two, and none is copied
/// again.
struct Parts {
    /// The file's, as its metadata said before it was opened.
    length: u64,
    /// The runs of pages read, one after the other, each from a multiple of
    /// 16 (`object` wants its structures aligned): the thread's buffer, which
    /// every open reuses rather than allocate (and fault in) pages anew.
    bytes: Vec<u8>,
    /// Each run's offset in the file and place in `bytes`.
    runs: Vec<(u64, Range<usize>)>,
    /// The ranges asked for, inside the file, but not read.
    missed: RefCell<Vec<(u64, u64)>>,
}

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl Parts {
    const PAGE: u64 = 4096;
    /// The most the fast path reads of one file. A plugin needs a few pages;
    /// a header that asks for more (a hostile one can ask for terabytes of a
    /// sparse file) goes to the full parse, which reads with fallible
    /// allocations and says what is wrong.
    const LIMIT: usize = 1 << 20;

    fn new(length: u64) -> Self {
        let mut bytes = BUFFER.try_with(Cell::take).unwrap_or_default();
        bytes.clear();
        Self {
            length,
            bytes,
            runs: Vec::new(),
            missed: RefCell::default(),
        }
    }

    /// The bytes `start..end`, if a run holds them.
    fn held(&self, start: u64, end: u64) -> Option<&[u8]> {
        self.runs.iter().find_map(|(offset, run)| {
            let from = usize::try_from(start.checked_sub(*offset)?).ok()?;
            let to = usize::try_from(end.checked_sub(*offset)?).ok()?;
            self.bytes[run.clone()].get(from..to)
        })
    }

    /// Reads the pages that hold `start..end` (up to the end of the file),
    /// unless a run holds them already.
    fn fetch(&mut self, file: &File, start: u64, end: u64) -> std::io::Result<()> {
        let end = end.min(self.length);
        if start >= end || self.held(start, end).is_some() {
            return Ok(());
        }
        let offset = start - start % Self::PAGE;
        let stop = end
            .checked_next_multiple_of(Self::PAGE)
            .map_or(self.length, |stop| stop.min(self.length));
        let size = usize::try_from(stop - offset).map_err(std::io::Error::other)?;
        let at = self.bytes.len().next_multiple_of(16);
        let run = at..at
            .checked_add(size)
            .filter(|end| *end <= Self::LIMIT)
            .ok_or_else(|| std::io::Error::other("beyond what the fast path reads"))?;
        self.bytes.resize(run.end, 0);
        read_at(file, &mut self.bytes[run.clone()], offset)?;
        self.runs.push((offset, run));
        Ok(())
    }

    fn miss<T>(&self, start: u64, end: u64) -> Result<T, ()> {
        self.missed.borrow_mut().push((start, end));
        Err(())
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        // A buffer grown for an unusual file is let go.
        if self.bytes.capacity() <= 16 * Self::PAGE as usize {
            let _ = BUFFER.try_with(|buffer| buffer.set(std::mem::take(&mut self.bytes)));
        }
    }
}

/// Answers as `object`'s `ReadCache` over the file would, for what the runs
/// hold; notes the rest as missed.
impl<'data> ReadRef<'data> for &'data Parts {
    fn len(self) -> Result<u64, ()> {
        Ok(self.length)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'data [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        let end = offset.checked_add(size).ok_or(())?;
        if end > self.length {
            return Err(());
        }
        match self.held(offset, end) {
            Some(bytes) => Ok(bytes),
            None => self.miss(offset, end),
        }
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'data [u8], ()> {
        if range.start > range.end || range.end > self.length {
            return Err(());
        }
        // `ReadCache` looks for the delimiter in the first 4 KiB.
        let end = range.end.min(range.start.saturating_add(4096));
        match self.held(range.start, end) {
            Some(bytes) => {
                let length = bytes.iter().position(|&byte| byte == delimiter).ok_or(())?;
                Ok(&bytes[..length])
            }
            None => self.miss(range.start, end),
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buffer)
}

/// Refuses a plugin file that users other than its owner and root could
/// replace: see [who may supply a plugin](mod@crate::load#who-may-supply-a-plugin).
/// Returns the metadata of the file `path` names, read on the way.
#[cfg(unix)]
fn check_writers(path: &Path) -> Result<std::fs::Metadata, LoadError> {
    use std::os::unix::fs::MetadataExt;

    // The walk resolves the path as `canonicalize` does, so it fails where
    // that fails, and the error is said as that says it.
    let walk = Walk::of(path).map_err(|error| LoadError::Open {
        path: path.to_owned(),
        message: std::fs::canonicalize(path)
            .err()
            .unwrap_or(error)
            .to_string(),
    })?;
    let file = walk.file();
    if !file.is_file() {
        // Not a library either: `find_declaration` says so, more usefully.
        return Ok(file.clone());
    }
    let mut accounts = None;
    let mut check = |checked: &Path, metadata: &std::fs::Metadata| {
        let mode = metadata.mode();
        // In a sticky directory only an entry's owner, the directory's owner
        // and root can rename or remove the entry.
        if metadata.is_dir() && mode & 0o1000 != 0 {
            return Ok(());
        }
        let everyone = mode & 0o002 != 0;
        let mut group = None;
        let mut group_members = Vec::new();
        if mode & 0o020 != 0 {
            let accounts = accounts.get_or_insert_with(Accounts::current);
            if let Some(members) = accounts.other_members(metadata.gid(), metadata.uid()) {
                group = Some(accounts.group_name(metadata.gid()));
                group_members = members;
            }
        }
        if everyone || group.is_some() {
            return Err(LoadError::WritableByOthers {
                path: path.to_owned(),
                writable: checked.to_owned(),
                mode,
                group,
                group_members,
                everyone,
            });
        }
        Ok(())
    };
    // A path and each leading part of it, with their metadata (`/` first).
    let mut check_all = |path: &Path, reached: &[std::fs::Metadata]| {
        (path.ancestors().zip(reached.iter().rev()))
            .try_for_each(|(checked, metadata)| check(checked, metadata))
    };
    // The file, then each directory above it, up to `/`.
    check_all(&walk.canonical, &walk.reached)?;
    // The directories of the path as given hold its symbolic links, if any,
    // and whoever can write there can point them elsewhere. (Its last part
    // is the file again, which passed above.)
    if walk.given != walk.canonical {
        check_all(&walk.given, &walk.given_reached)?;
    }
    // The directories holding the links followed, and each one above them:
    // those of links met along the way are in neither path.
    for (directory, reached) in &walk.linked {
        check_all(directory, reached)?;
    }
    Ok(file.clone())
}

#[cfg(not(unix))]
fn check_writers(path: &Path) -> Result<std::fs::Metadata, LoadError> {
    std::fs::metadata(path).map_err(|error| LoadError::Open {
        path: path.to_owned(),
        message: error.to_string(),
    })
}

/// A path resolved as the kernel resolves it (and `canonicalize`), one
/// component at a time, keeping the metadata of every directory it reached:
/// resolving costs one `lstat` per component, where `canonicalize` and then
/// a `stat` of each ancestor cost two, and the checks need no second look.
#[cfg(unix)]
struct Walk {
    /// The path as given, made absolute as `std::path::absolute` makes it.
    given: PathBuf,
    /// What it resolves to: what `std::fs::canonicalize` returns.
    canonical: PathBuf,
    /// The metadata of each leading part of `canonical`: `/` first, the
    /// file last.
    reached: Vec<std::fs::Metadata>,
    /// The metadata of what each leading part of `given` resolves to: `/`
    /// first, then one per component.
    given_reached: Vec<std::fs::Metadata>,
    /// Each directory that held a symbolic link the walk followed, resolved,
    /// with the metadata of every leading part of it, `/` first: whoever can
    /// write there can point the link, and so the walk, elsewhere. Links met
    /// along the way, in the target of another link, are in neither `given`
    /// nor `canonical`.
    linked: Vec<(PathBuf, Vec<std::fs::Metadata>)>,
}

/// One step of a [`Walk`].
#[cfg(unix)]
enum Step {
    /// Into the entry of the directory reached named by bytes `name` of the
    /// path as given (`link` is `None`) or of the target of link number
    /// `link`.
    Enter {
        link: Option<usize>,
        name: Range<usize>,
    },
    /// Up to the parent of the directory reached (`..`).
    Leave,
    /// Nowhere, but what is reached must be a directory (`.`, a trailing
    /// `/`).
    Stay,
    /// A leading part of the path as given ends here.
    Given,
}

#[cfg(unix)]
impl Walk {
    /// The most symbolic links one resolution follows, as Linux and glibc
    /// count.
    const MAX_LINKS: usize = 40;

    fn of(path: &Path) -> std::io::Result<Self> {
        use std::io::{Error, ErrorKind};
        use std::os::unix::ffi::{OsStrExt, OsStringExt};

        let given = std::path::absolute(path)?;
        let given_text = given.as_os_str().as_bytes();
        // The targets of the links followed.
        let mut targets: Vec<Vec<u8>> = Vec::new();
        // A stack: the next step last.
        let mut steps = Vec::with_capacity(2 * given_text.len().min(64) + 1);
        // `absolute` drops a final `.`, which still asks for a directory.
        let raw = path.as_os_str().as_bytes();
        if raw.ends_with(b"/") || raw.ends_with(b"/.") || raw == b"." {
            steps.push(Step::Stay);
        }
        push_steps(&mut steps, given_text, None);
        let mut resolved = PathBuf::with_capacity(given_text.len());
        resolved.push("/");
        let root = std::fs::symlink_metadata(&resolved)?;
        let mut reached = Vec::with_capacity(steps.len() / 2 + 1);
        reached.push(root.clone());
        let mut given_reached = Vec::with_capacity(steps.len() / 2 + 1);
        given_reached.push(root.clone());
        let mut links = 0;
        let mut linked = Vec::new();
        while let Some(step) = steps.pop() {
            let here = reached.last().unwrap_or(&root);
            if let Step::Given = step {
                given_reached.push(here.clone());
                continue;
            }
            // Only a directory has entries, `.` and `..` included.
            if !here.is_dir() {
                return Err(Error::from(ErrorKind::NotADirectory));
            }
            let (link, name) = match step {
                Step::Enter { link, name } => (link, name),
                Step::Leave => {
                    if resolved.pop() {
                        reached.pop();
                    }
                    continue;
                }
                Step::Stay | Step::Given => continue,
            };
            let text = match link {
                None => given_text,
                Some(link) => &targets[link],
            };
            resolved.push(std::ffi::OsStr::from_bytes(&text[name]));
            let metadata = std::fs::symlink_metadata(&resolved)?;
            if !metadata.is_symlink() {
                reached.push(metadata);
                continue;
            }
            links += 1;
            if links > Self::MAX_LINKS {
                return Err(Error::other("too many levels of symbolic links"));
            }
            let target = std::fs::read_link(&resolved)?.into_os_string().into_vec();
            resolved.pop();
            linked.push((resolved.clone(), reached.clone()));
            if target.is_empty() {
                return Err(Error::from(ErrorKind::NotFound));
            }
            if target.starts_with(b"/") {
                resolved.clear();
                resolved.push("/");
                reached.truncate(1);
            }
            push_steps(&mut steps, &target, Some(targets.len()));
            targets.push(target);
        }
        Ok(Self {
            given,
            canonical: resolved,
            reached,
            given_reached,
            linked,
        })
    }

    /// The metadata of the file the path names.
    fn file(&self) -> &std::fs::Metadata {
        // Never empty: it starts with `/`, which no step removes.
        &self.reached[self.reached.len() - 1]
    }
}

/// Pushes the steps of `path`, the path as given (`link` is `None`) or the
/// target of link number `link`, onto `steps`, the first step last; for the
/// path as given, a [`Step::Given`] after each of its components.
#[cfg(unix)]
fn push_steps(steps: &mut Vec<Step>, path: &[u8], link: Option<usize>) {
    if path.ends_with(b"/") && path.iter().any(|&byte| byte != b'/') {
        steps.push(Step::Stay);
    }
    // From the last name to the first.
    let mut end = path.len();
    while end > 0 {
        let start = path[..end]
            .iter()
            .rposition(|&byte| byte == b'/')
            .map_or(0, |slash| slash + 1);
        let step = match &path[start..end] {
            b"" => None,
            // `Path::components`, which `Path::ancestors` follows, skips `.`.
            b"." => Some(Step::Stay),
            b".." => Some(Step::Leave),
            _ => Some(Step::Enter {
                link,
                name: start..end,
            }),
        };
        if let Some(step) = step {
            if link.is_none() && !matches!(step, Step::Stay) {
                steps.push(Step::Given);
            }
            steps.push(step);
        }
        end = start.saturating_sub(1);
    }
}

/// Users and groups as `/etc/passwd` and `/etc/group` list them: enough to
/// tell who is in a group without linking to libc's NSS.
#[cfg(unix)]
struct Accounts {
    /// (name, uid, primary gid)
    users: Vec<(String, u32, u32)>,
    /// (name, gid, supplementary members)
    groups: Vec<(String, u32, Vec<String>)>,
}

/// What tells whether a file changed: its device, inode, size, and
/// modification and change times; `None` if it cannot be read.
#[cfg(unix)]
type Stamp = Option<(u64, u64, u64, i64, i64, i64, i64)>;

#[cfg(unix)]
impl Accounts {
    /// The accounts as the files list them now. They are read again only
    /// when either file changed since they were last read: a group's members
    /// count as of this call, as if the files were read for it, without
    /// reading and parsing them on every open of a group-writable plugin.
    /// Tools that edit them (`useradd`, `usermod`, `vigr`) write a new file
    /// and rename it over the old one, a new inode; an edit in place changes
    /// the times. The stamps are taken before the files are read, so a change
    /// while they are read is seen on the next call.
    fn current() -> Arc<Self> {
        static READ: Mutex<Option<([Stamp; 2], Arc<Accounts>)>> = Mutex::new(None);
        let stamp = |file: &str| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(file).ok().map(|m| {
                (
                    m.dev(),
                    m.ino(),
                    m.size(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ctime(),
                    m.ctime_nsec(),
                )
            })
        };
        let stamps = [stamp("/etc/passwd"), stamp("/etc/group")];
        let mut read = READ.lock().unwrap_or_else(PoisonError::into_inner);
        match &*read {
            Some((stamped, accounts)) if *stamped == stamps => accounts.clone(),
            _ => {
                let accounts = Arc::new(Self::read());
                *read = Some((stamps, accounts.clone()));
                accounts
            }
        }
    }

    /// Unreadable files read as empty: every group is then unknown, and
    /// unknown groups count as having other members.
    fn read() -> Self {
        let read = |file: &str| std::fs::read_to_string(file).unwrap_or_default();
        let fields = |line: &str| line.split(':').map(str::to_owned).collect::<Vec<_>>();
        let users = read("/etc/passwd")
            .lines()
            .map(fields)
            .filter_map(|f| {
                Some((
                    f.first()?.clone(),
                    f.get(2)?.parse().ok()?,
                    f.get(3)?.parse().ok()?,
                ))
            })
            .collect();
        let groups = read("/etc/group")
            .lines()
            .map(fields)
            .filter_map(|f| {
                let members = f
                    .get(3)
                    .map(|list| {
                        list.split(',')
                            .filter(|name| !name.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                Some((f.first()?.clone(), f.get(2)?.parse().ok()?, members))
            })
            .collect();
        Self { users, groups }
    }

    fn group_name(&self, gid: u32) -> String {
        self.groups
            .iter()
            .find(|(_, id, _)| *id == gid)
            .map_or_else(|| gid.to_string(), |(name, _, _)| name.clone())
    }

    /// The members of group `gid` other than user `owner` and root, by
    /// name: `None` if there are none, `Some(empty)` if the group is not
    /// listed (its members are unknown, so they count).
    fn other_members(&self, gid: u32, owner: u32) -> Option<Vec<String>> {
        let Some((_, _, supplementary)) = self.groups.iter().find(|(_, id, _)| *id == gid) else {
            return Some(Vec::new());
        };
        let uid_of = |name: &str| {
            self.users
                .iter()
                .find(|(user, _, _)| user == name)
                .map(|(_, uid, _)| *uid)
        };
        let mut others: Vec<String> = self
            .users
            .iter()
            .filter(|(_, _, primary)| *primary == gid)
            .map(|(name, _, _)| name.clone())
            .chain(supplementary.iter().cloned())
            // A name not in /etc/passwd is someone else all the same.
            .filter(|name| uid_of(name).is_none_or(|uid| uid != owner && uid != 0))
            .collect();
        others.sort();
        others.dedup();
        (!others.is_empty()).then_some(others)
    }
}

/// The program header table as an ELF header declares it: offset, entry
/// size, count, and the entry size of this ELF class.
fn elf_program_headers<Elf: object::read::elf::FileHeader>(
    header: &Elf,
    endian: Elf::Endian,
) -> (u64, u16, u16, u16) {
    (
        header.e_phoff(endian).into(),
        header.e_phentsize(endian),
        header.e_phnum(endian),
        size_of::<Elf::ProgramHeader>() as u16,
    )
}

/// This host's architecture, with the ELF machine and class that `object`
/// reads as that architecture.
fn host_architecture() -> Option<(object::Architecture, u16, bool)> {
    use object::Architecture as A;
    use object::elf;
    Some(match std::env::consts::ARCH {
        "x86_64" => (A::X86_64, elf::EM_X86_64, true),
        "x86" => (A::I386, elf::EM_386, false),
        "aarch64" => (A::Aarch64, elf::EM_AARCH64, true),
        "arm" => (A::Arm, elf::EM_ARM, false),
        "riscv64" => (A::Riscv64, elf::EM_RISCV, true),
        "powerpc64" => (A::PowerPc64, elf::EM_PPC64, true),
        "s390x" => (A::S390x, elf::EM_S390, true),
        _ => return None,
    })
}

/// Reads the prefix, then (if it matches) the whole declaration.
///
/// # Safety
/// `address` is the address of an exported symbol of a library that stays
/// loaded for the rest of the process; if `symbol_size` is not 0, the symbol
/// has that many bytes.
unsafe fn read_declaration(
    path: &Path,
    address: *const c_void,
    symbol_size: u64,
) -> Result<&'static PluginDeclaration, LoadError> {
    let bad = |reason: String| LoadError::BadDeclaration {
        path: path.to_owned(),
        reason,
    };
    let fits = |size: usize| symbol_size == 0 || symbol_size >= size as u64;
    if address.is_null() || !fits(size_of::<DeclarationPrefix>()) {
        return Err(bad(format!(
            "its symbol has {symbol_size} bytes, fewer than the {}-byte prefix",
            size_of::<DeclarationPrefix>()
        )));
    }
    // SAFETY: the symbol has at least the prefix's size (checked above when
    // the file records sizes); the read is unaligned because nothing is
    // known yet about what the symbol is.
    let prefix = unsafe { address.cast::<DeclarationPrefix>().read_unaligned() };
    if prefix.magic != abi::MAGIC {
        return Err(bad(format!(
            "its magic value is {:#018x}, not mpplugin's {:#018x}",
            prefix.magic,
            abi::MAGIC
        )));
    }
    if prefix.abi_version != abi::ABI_VERSION {
        return Err(LoadError::AbiVersion {
            path: path.to_owned(),
            host: abi::ABI_VERSION,
            plugin: prefix.abi_version,
        });
    }
    let size = size_of::<PluginDeclaration>();
    if prefix.size as usize != size || !fits(size) {
        return Err(bad(format!(
            "it says it has {} bytes and its symbol {symbol_size}, where ABI version {} declarations have {size}",
            prefix.size,
            abi::ABI_VERSION
        )));
    }
    let declaration = address.cast::<PluginDeclaration>();
    if !declaration.is_aligned() {
        return Err(bad("it is not aligned".to_owned()));
    }
    // SAFETY: the prefix matched this ABI version, so the symbol is a
    // `PluginDeclaration` of this layout, aligned and large enough (checked
    // above); the library is never unloaded, so it lives for `'static`.
    Ok(unsafe { &*declaration })
}

/// Reads a declaration's strings and types.
///
/// # Safety
/// `declaration` was read by `read_declaration` from a library that stays
/// loaded.
unsafe fn describe(
    path: &Path,
    symbol: &str,
    declaration: &PluginDeclaration,
) -> Result<PluginInfo, LoadError> {
    let text = |field: &str, value: StrRef| {
        // SAFETY: a declaration's strings are string literals of the library,
        // which stays loaded.
        unsafe { value.to_str() }
            .map(str::to_owned)
            .ok_or_else(|| LoadError::BadDeclaration {
                path: path.to_owned(),
                reason: format!("its {field} is not UTF-8"),
            })
    };
    let type_info = |field: &str, descriptor: &TypeDescriptor| {
        Ok::<_, LoadError>(TypeInfo {
            name: text(field, (descriptor.name)())?,
            size: descriptor.size,
            align: descriptor.align,
        })
    };
    let panic_strategy = match declaration.panic_strategy {
        abi::PANIC_UNWIND => PanicStrategy::Unwind,
        abi::PANIC_ABORT => PanicStrategy::Abort,
        other => PanicStrategy::Unknown(other),
    };
    Ok(PluginInfo {
        path: path.to_owned(),
        symbol: symbol.to_owned(),
        name: text("name", declaration.name)?,
        version: text("version", declaration.version)?,
        plugin_type: text("plugin type", declaration.plugin_type)?,
        message: type_info("message type", &declaration.message)?,
        argument: match declaration.takes_argument {
            0 => None,
            _ => Some(type_info("argument type", &declaration.argument)?),
        },
        rustc: text("rustc", declaration.rustc)?,
        target: text("target", declaration.target)?,
        mpplugin_version: text("mpplugin version", declaration.mpplugin_version)?,
        abi_version: declaration.prefix.abi_version,
        panic_strategy,
    })
}

/// A plugin constructed from a library. It is a [`Plugin<T>`]: attach it to
/// a host, or call it yourself. It keeps its library loaded.
///
/// Dropping it drops the plugin through the plugin's own code; a panic there
/// is contained (and, outside a host, not reported).
pub struct LoadedPlugin<T: 'static> {
    // Dropped before `library` (see `Drop`).
    plugin: Option<Box<dyn Plugin<T>>>,
    library: PluginLibrary,
}

impl<T: 'static> LoadedPlugin<T> {
    /// The library this plugin was made from.
    pub fn library(&self) -> &PluginLibrary {
        &self.library
    }

    fn drop_plugin(&mut self) -> Option<String> {
        self.plugin
            .take()
            .and_then(|plugin| plugin.__mpplugin_drop())
    }
}

impl<T: 'static> fmt::Debug for LoadedPlugin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.library.inner.info.name)
            .field("path", &self.library.inner.info.path)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> Plugin<T> for LoadedPlugin<T> {
    /// Calls the plugin. A panic in it is caught inside the plugin and raised
    /// again here, as a panic of the host's own, with the plugin's message.
    fn handle_message(&mut self, message: Message<T>) -> Option<u8> {
        match self.__mpplugin_handle(message) {
            Handled::Continue => None,
            Handled::Detach(status) => Some(status),
            Handled::Panicked(text) => panic!("plugin `{}` panicked: {text}", self.name()),
        }
    }

    fn name(&self) -> &str {
        &self.library.inner.info.name
    }

    fn __mpplugin_handle(&mut self, message: Message<T>) -> Handled {
        match self.plugin.as_mut() {
            Some(plugin) => plugin.__mpplugin_handle(message),
            None => Handled::Panicked("the plugin was already dropped".to_owned()),
        }
    }

    fn __mpplugin_drop(mut self: Box<Self>) -> Option<String> {
        self.drop_plugin()
    }
}

impl<T: 'static> Drop for LoadedPlugin<T> {
    fn drop(&mut self) {
        let _ = self.drop_plugin();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the fast path and the full parse accept `bytes`; the fast
    /// path must never accept what the full parse refuses, nor find other
    /// declarations.
    #[cfg(target_os = "linux")]
    fn accepted(bytes: &[u8]) -> (bool, bool) {
        let length = bytes.len() as u64;
        let fast = elf_declarations(bytes, length);
        let full = declarations(bytes, length);
        if let Some(found) = &fast {
            assert_eq!(
                Ok(found),
                full.as_ref(),
                "the fast path accepted what the full parse did not"
            );
        }
        (fast.is_some(), full.is_ok())
    }

    /// An ELF file this test can read: the test binary itself, a shared
    /// object to the loader's eyes when it is position-independent.
    #[cfg(target_os = "linux")]
    fn this_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    /// Where a 64-bit ELF file's section headers lie, for tests that corrupt
    /// them; `None` for any other file.
    #[cfg(target_os = "linux")]
    struct SectionHeaders {
        /// The table's offset in the file.
        offset: usize,
        /// The size of one header.
        entry: usize,
        /// Each section's type and offset in the file, in order.
        kinds: Vec<(u32, u64)>,
    }

    #[cfg(target_os = "linux")]
    impl SectionHeaders {
        fn of(bytes: &[u8]) -> Option<Self> {
            use object::read::elf::{FileHeader as _, SectionHeader as _};

            let object = object::File::parse(bytes).unwrap();
            let object::File::Elf64(elf) = &object else {
                return None;
            };
            let endian = elf.endian();
            let header = elf.elf_header();
            let kinds = header
                .sections(endian, bytes)
                .unwrap()
                .iter()
                .map(|section| (section.sh_type(endian), section.sh_offset(endian)))
                .collect();
            Some(Self {
                offset: header.e_shoff(endian) as usize,
                entry: usize::from(header.e_shentsize(endian)),
                kinds,
            })
        }

        /// Where header `index` starts.
        fn at(&self, index: usize) -> usize {
            self.offset + index * self.entry
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    // Miri's allocator does not align a `Vec<u8>` as `object` needs, and
    // thousands of parses of the test binary would take it hours.
    #[cfg_attr(miri, ignore)]
    fn the_elf_fast_path_refuses_what_the_full_parse_refuses() {
        let whole = this_binary();
        let (fast, full) = accepted(&whole);
        assert_eq!(fast, full, "the fast path refused a good file");
        let mut lengths: Vec<usize> = (1..64).map(|i| i * whole.len() / 64).collect();
        lengths.extend([0, 1, 16, 63, 64, 65, 4095, 4096, whole.len() - 1]);
        for length in lengths {
            accepted(&whole[..length]);
        }
        let Some(sections) = SectionHeaders::of(&whole) else {
            return;
        };
        // Every field of the ELF header, then of each section header, set to
        // values a parser has to refuse or must not trip on.
        let mut fields: Vec<(usize, usize)> = (0..64).step_by(2).map(|at| (at, 2)).collect();
        for index in 0..sections.kinds.len() {
            fields.extend(
                (0..sections.entry)
                    .step_by(4)
                    .map(|at| (sections.at(index) + at, 4)),
            );
        }
        let mut bytes = whole.clone();
        for (at, size) in fields {
            for value in [0x00, 0x01, 0x02, 0x0b, 0x12, 0x7f, 0xff] {
                bytes[at..at + size].fill(value);
                accepted(&bytes);
            }
            bytes[at..at + size].copy_from_slice(&whole[at..at + size]);
        }
    }

    /// A header that asks for terabytes of a sparse file: refused, not an
    /// allocation that aborts the host.
    #[test]
    #[cfg(target_os = "linux")]
    #[cfg_attr(miri, ignore)]
    fn a_huge_symbol_table_is_refused_without_reading_it() {
        let mut bytes = this_binary();
        let Some(sections) = SectionHeaders::of(&bytes) else {
            return;
        };
        let (index, dynsym) = sections
            .kinds
            .iter()
            .enumerate()
            .find(|(_, (kind, _))| *kind == object::elf::SHT_DYNSYM)
            .map(|(index, (_, offset))| (index, *offset))
            .expect("a position-independent test binary has dynamic symbols");
        // `sh_size` sits 32 bytes into a 64-bit section header.
        let huge: u64 = 24 << 36;
        let at = sections.at(index) + 32;
        bytes[at..at + 8].copy_from_slice(&huge.to_le_bytes());
        let path = std::env::temp_dir().join(format!("mpplugin-huge-{}", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let file = File::options().write(true).open(&path).unwrap();
        file.set_len(dynsym + huge).unwrap();
        drop(file);
        let metadata = std::fs::metadata(&path).unwrap();
        let result = find_declaration(&path, &metadata);
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(result, Err(LoadError::NotALibrary { .. })),
            "{result:?}"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    // Miri's allocator does not align a `Vec<u8>` as `object` needs, and
    // thousands of parses of the test binary would take it hours.
    #[cfg_attr(miri, ignore)]
    fn reading_the_parts_of_a_file_finds_what_reading_it_whole_finds() {
        let whole = this_binary();
        let path = std::env::temp_dir().join(format!("mpplugin-parts-{}", std::process::id()));
        for length in [whole.len(), whole.len() / 2, 4096, 100, 0] {
            std::fs::write(&path, &whole[..length]).unwrap();
            let file = File::open(&path).unwrap();
            assert_eq!(
                read_elf_declarations(&file, length as u64),
                elf_declarations(&whole[..length], length as u64),
                "the first {length} bytes"
            );
        }
        std::fs::remove_file(&path).unwrap();
    }

    /// A scratch directory of links and directories, removed at the end.
    #[cfg(unix)]
    struct Tree(PathBuf);

    #[cfg(unix)]
    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    #[cfg(unix)]
    fn the_walk_resolves_as_canonicalize_does() {
        use std::os::unix::fs::{MetadataExt, symlink};

        let tree = Tree(
            std::fs::canonicalize(std::env::temp_dir())
                .unwrap()
                .join(format!("mpplugin-walk-{}", std::process::id())),
        );
        let root = &tree.0;
        let _ = std::fs::remove_dir_all(root);
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::write(root.join("a/b/c/lib.so"), b"").unwrap();
        symlink("b/c", root.join("a/to-c")).unwrap();
        symlink(root.join("a/b"), root.join("to-b")).unwrap();
        symlink("../a/to-c/lib.so", root.join("a/link.so")).unwrap();
        symlink("link.so", root.join("a/link-to-link.so")).unwrap();
        symlink("nothing-here", root.join("dangling")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink(".", root.join("here")).unwrap();
        let cases = [
            "a/b/c/lib.so",
            "a/to-c/lib.so",
            "to-b/c/lib.so",
            "to-b/../a/b/c/lib.so",
            "a/link.so",
            "a/link-to-link.so",
            "a/to-c/../c/./lib.so",
            "here/here/a/to-c/lib.so",
            "a/b/c/lib.so/",
            "a/b/c/lib.so/.",
            "a/b/c/lib.so/..",
            "a/b/c/lib.so/x",
            "a/b/c/",
            "a/b/c/.",
            "a//b///c/lib.so",
            "dangling",
            "loop",
            "nothing-here",
            "../",
        ];
        for case in cases {
            let path = root.join(case);
            let walk = Walk::of(&path);
            let canonical = std::fs::canonicalize(&path);
            let walk = match (walk, canonical) {
                (Ok(walk), Ok(canonical)) => {
                    assert_eq!(walk.canonical, canonical, "{case}");
                    walk
                }
                (Err(_), Err(_)) => continue,
                (walk, canonical) => panic!(
                    "{case}: the walk says {:?}, canonicalize {canonical:?}",
                    walk.map(|walk| walk.canonical)
                ),
            };
            let inode = |metadata: &std::fs::Metadata| (metadata.dev(), metadata.ino());
            // What the walk reached for each leading part of `path`, and what
            // `stat` finds there.
            let compare = |path: &Path, reached: &[std::fs::Metadata]| {
                let reached: Vec<_> = reached.iter().rev().map(inode).collect();
                let expected: Vec<_> = path
                    .ancestors()
                    .map(|ancestor| inode(&std::fs::metadata(ancestor).unwrap()))
                    .collect();
                assert_eq!(reached, expected, "{case}");
            };
            compare(&walk.canonical, &walk.reached);
            compare(&walk.given, &walk.given_reached);
        }
    }
}
