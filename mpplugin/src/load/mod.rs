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
//! This holds for a library refused after it was loaded, too (a malformed
//! or different shape, another rustc, any check after `dlopen`): its
//! initialisers have run, and what the loader read from it (the shapes it
//! caches by address, names borrowed into the error it returns) must stay
//! valid; were it closed, the next library mapped at its addresses would be
//! taken for it. A refused file costs its mapping once: opening the same
//! path again gets the loaded library back from the dynamic loader.
//!
//! Because a library stays loaded, opening the same path again while the file
//! is unchanged (same device, inode, size and modification time) returns the
//! library already opened, validated and checked, without reading the file
//! again.
//!
//! # Reloading
//!
//! Opening a path whose file changed since it was loaded (a rebuild) returns
//! the new build. The dynamic loader would hand back the library first
//! loaded from that path, so the new file, once its writers are checked, is
//! copied into a directory that this process makes for it, mode 0700, below
//! the system's temporary directory (`TMPDIR`), and the copy goes through
//! the file check and is loaded; copy and directory are removed at once.
//! The old library stays loaded, and plugins made from it keep running
//! until they are dropped or replaced (see `replace` on the hosts). Each
//! reload keeps one more library mapped for the rest of the process. A
//! library that finds its dependencies relative to its own file
//! (`$ORIGIN` in its run path) does not find them from the copy.
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
//!   each user with umask 002), as the system's name service lists users
//!   and groups (NSS: `/etc/passwd` and `/etc/group`, LDAP, SSSD, ...; kept
//!   for up to 5 seconds, and read again at once when either file changes);
//!   a group the name service does not know counts, and so does a member it
//!   cannot name;
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
//!
//! # Where each stage lives
//!
//! This file is the pipeline, top to bottom: [`PluginLibrary::open_with`]
//! runs the stages in order, each in a file of its own:
//!
//! 1. `trust.rs`: who may write the file and every directory on the way
//!    (the permission walk); `accounts.rs`: who is in a group, as the name
//!    service says;
//! 2. `copy.rs`, for a file rebuilt since its path was loaded: the
//!    private copy it is loaded from; `file.rs`: the file is a complete shared library for this machine, and
//!    where its declarations are, for every format; `elf.rs` reads the few
//!    pages of an ELF file that check needs;
//! 3. `dlopen`, then `declaration.rs`: reading the declaration out of the
//!    loaded library (its shape graphs through `image.rs`, which checks
//!    every pointer against the library's mapping), and comparing it with
//!    the host (at `check` and `instantiate`);
//! 4. the constructor, here, which makes a [`LoadedPlugin`] (`loaded.rs`);
//!    `select.rs` chooses which plugin, of a library that declares several.
//!
//! A folder of plugins is `dir.rs`'s: it checks the folder as stage 1
//! checks a plugin's directory, then runs the pipeline on each library file.
//!
//! What a plugin says about itself is `info.rs`'s, every refusal
//! `error.rs`'s, the handle of an opened library `library.rs`'s, and the
//! [`OpenOptions`] that both this file and `dir.rs` take `options.rs`'s. The
//! loader's `unsafe` is here (`dlopen`, the symbol, the constructor), in
//! `declaration.rs` and `image.rs` (reading the library's memory) and in `accounts.rs`
//! (listing users); no other file of it holds any.

use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Once, PoisonError};

use crate::abi::ConstructStatus;
use crate::plugin::Plugin;
use crate::shape::Shape;

#[cfg(unix)]
mod accounts;
mod copy;
mod declaration;
mod dir;
mod elf;
mod error;
mod file;
mod image;
mod info;
mod library;
mod loaded;
mod options;
mod select;
mod trust;

use declaration::{Expected, HostShape, HostType};
pub(crate) use declaration::{
    message_shape, message_shape_as, message_shape_checked, shape_is, state_shape,
};
pub use dir::OpenedDir;
pub use error::LoadError;
pub(crate) use file::check_alone;
pub use info::{PanicStrategy, PluginInfo, TypeInfo};
use library::LibraryInner;
pub use library::PluginLibrary;
pub use loaded::LoadedPlugin;
pub use options::OpenOptions;

/// The most the loader reads of a file before it trusts it, in bytes: 64
/// MiB. An ELF plugin is checked from a page or two (at most 1 MiB); any
/// other file, or an ELF file that fails that check, is parsed in full,
/// reading at most this much in all, whatever its headers claim. A file
/// whose headers ask for more (a hostile symbol table of terabytes, in a
/// sparse file) is refused as [`LoadError::NotALibrary`] without being read
/// or allocated for.
pub const READ_LIMIT: u64 = 64 << 20;

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
pub unsafe fn load<T: Send + Sync + Shape>(
    path: impl AsRef<Path>,
) -> Result<LoadedPlugin<T>, LoadError> {
    let expected = Expected {
        message: HostShape::of::<T>(),
        argument: None,
    };
    // SAFETY: forwarded to the caller.
    unsafe { PluginLibrary::open_expecting(path.as_ref(), &OpenOptions::new(), Some(&expected)) }?
        .instantiate()
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
pub unsafe fn load_with<T: Send + Sync + Shape, A: Shape>(
    path: impl AsRef<Path>,
    argument: &A,
) -> Result<LoadedPlugin<T>, LoadError> {
    let expected = Expected {
        message: HostShape::of::<T>(),
        argument: Some(HostShape::of::<A>()),
    };
    // SAFETY: forwarded to the caller.
    unsafe { PluginLibrary::open_expecting(path.as_ref(), &OpenOptions::new(), Some(&expected)) }?
        .instantiate_with(argument)
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
    /// searched for mpplugin declarations, one per plugin (a library may
    /// declare several: see [`plugins`](Self::plugins)); the magic value,
    /// ABI version and size of each are checked before anything else in it
    /// is read.
    ///
    /// The checks that decide whether a plugin may be constructed (rustc,
    /// target, message and argument types, panic strategy) come with
    /// [`instantiate`](Self::instantiate) and [`check`](Self::check), so that
    /// a refused library can still be inspected with [`plugins`](Self::plugins).
    ///
    /// The library is never closed: see the [module docs](mod@crate::load) for
    /// why. The same path opened again returns the same library while the
    /// file is unchanged, and the new build, checked anew, once it was
    /// rebuilt (see [reloading](mod@crate::load#reloading)).
    ///
    /// # Safety
    /// Opening a library runs its initialisers, which are arbitrary code, and
    /// everything the checks compare is what the library says about itself.
    /// The caller guarantees what no check can see:
    ///
    /// - **Trusted code.** The library is built from source you trust, by
    ///   `#[mpplugin::plugin]`.
    /// - **One definition of every shared type.** The message and argument
    ///   types are compared by `type_name`, size and alignment, then by
    ///   [shape](crate::shape): every field's name, offset and type, every
    ///   variant's name, discriminant and fields, recursively. What a shape
    ///   cannot see stays your trust: a field marked `#[shape(opaque)]`
    ///   (compared by name, size and alignment only), what a `dyn Trait` or
    ///   a function pointer inside a message runs, and a hand-written
    ///   [`Shape`] impl that says less than its type is.
    /// - **One allocator instance.** Memory crosses the boundary and is freed
    ///   by the side that did not allocate it: messages and everything they
    ///   own, replies sent back through channels, a constructor's error
    ///   message, panic messages. Both sides must use the same allocator
    ///   instance: the system allocator (the default on both sides). A
    ///   `#[global_allocator]` in the host or the plugin, even the same
    ///   crate on both sides, is a second instance (a cdylib links its own
    ///   copy) and is undefined behaviour.
    /// - **No listing of users meanwhile.** On unix, when a group can write
    ///   to the plugin or a directory above it, the permission check lists
    ///   the users through the name service (`getpwent`), whose cursor the
    ///   whole process shares: no other thread may list users with
    ///   `setpwent`/`getpwent`/`endpwent` during the open. (mpplugin's own
    ///   opens take turns; look-ups by name or id, `getpwnam_r` and the
    ///   like, are fine.)
    /// - **Panics stay behind the vtable.** Panics are contained where the
    ///   host calls the plugin through [`Plugin`]; a closure or trait object
    ///   that one side puts in a message and the other calls is plain code
    ///   of the first side, and a panic in it aborts the process.
    ///
    /// # Errors
    /// [`LoadError::Open`], [`LoadError::WritableByOthers`],
    /// [`LoadError::NotALibrary`], [`LoadError::NotAPlugin`],
    /// [`LoadError::BadDeclaration`],
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
        // SAFETY: forwarded to the caller.
        unsafe { Self::open_expecting(path.as_ref(), options, None) }
    }

    /// `open_with`, knowing the host's types when the caller does (`load`):
    /// a plugin's shape equal to the host's is then found so without being
    /// read into nodes.
    ///
    /// # Safety
    /// As `open`.
    unsafe fn open_expecting(
        path: &Path,
        options: &OpenOptions,
        expected: Option<&Expected>,
    ) -> Result<Self, LoadError> {
        // One look at the file serves the check, the look-up and the refusal
        // of what is not a regular file.
        let metadata = if options.allow_writable_by_others {
            std::fs::metadata(path).map_err(|error| LoadError::cannot_open(path, &error))?
        } else {
            trust::check_writers(path)?
        };
        let identity = FileIdentity::of(&metadata);
        if let Some(identity) = &identity {
            let known = opened().get(path).cloned();
            if let Some((loaded, library)) = known {
                if loaded == *identity {
                    return Ok(library);
                }
                // Rebuilt: the dynamic loader matches a path it has loaded
                // before by name and would hand back the old library, so the
                // new file is loaded from a copy at a path never loaded.
                let copy = copy::PrivateCopy::of(path, &metadata)?;
                // SAFETY: forwarded to the caller; the copy is the file whose
                // writers were checked, and only this user can write it.
                let library = unsafe { Self::open_file(path, copy.path(), expected) }?;
                opened().insert(path.to_owned(), (identity.clone(), library.clone()));
                return Ok(library);
            }
        }
        // SAFETY: forwarded to the caller.
        let library = unsafe { Self::open_file(path, path, expected) }?;
        if let Some(identity) = identity {
            opened()
                .entry(path.to_owned())
                .or_insert_with(|| (identity, library.clone()));
        }
        Ok(library)
    }

    /// `open` without the look-up of libraries already opened: the
    /// library at `load_from` (`path` itself, or a private copy of it),
    /// reported as `path`.
    ///
    /// # Safety
    /// As `open`.
    unsafe fn open_file(
        path: &Path,
        load_from: &Path,
        expected: Option<&Expected>,
    ) -> Result<Self, LoadError> {
        // Read again here, not taken from the permission walk: the file
        // checked must be the one loaded, and for a reload that is the copy.
        let metadata =
            std::fs::metadata(load_from).map_err(|error| LoadError::cannot_open(path, &error))?;
        let symbols =
            file::find_declarations(load_from, &metadata).map_err(|error| error.about(path))?;
        // SAFETY: the caller trusts the library's initialisers, which this
        // runs; the file was checked to be a complete shared library.
        let library =
            unsafe { libloading::Library::new(load_from) }.map_err(|error| LoadError::Open {
                path: path.to_owned(),
                message: error.to_string(),
            })?;
        // Never closed from here on, refused or not (module docs, "Library
        // lifetime"): what was read from it (shapes cached by address, names
        // borrowed into an error) stays valid, and no later library is mapped
        // at its addresses.
        let library = ManuallyDrop::new(library);
        let mut declarations = Vec::with_capacity(symbols.len());
        let mut plugins = Vec::with_capacity(symbols.len());
        for (symbol, symbol_size) in &symbols {
            // SAFETY: the symbol is a data symbol; asking for its address as
            // a raw pointer reads nothing.
            let address = unsafe { library.get::<*const c_void>(symbol.as_bytes()) }
                .map(|symbol| *symbol)
                .map_err(|error| LoadError::Open {
                    path: path.to_owned(),
                    message: error.to_string(),
                })?;
            // SAFETY: the library stays loaded for the rest of the process
            // (it is never closed), and `address` is the address of the
            // exported symbol, of `symbol_size` bytes when the file says so.
            let declaration =
                unsafe { declaration::read_declaration(path, address, *symbol_size) }?;
            // SAFETY: as above; the prefix matched, so the layout is this
            // ABI's.
            plugins.push(unsafe { declaration::describe(path, symbol, declaration, expected) }?);
            declarations.push(declaration);
        }
        let names = match &plugins[..] {
            [only] => vec![only.name.clone()],
            several => several
                .iter()
                .map(|info| format!("{}::{}", info.name, info.plugin_type))
                .collect(),
        };
        Ok(Self {
            inner: Arc::new(LibraryInner {
                _library: library,
                declarations,
                plugins,
                names,
                logging: Once::new(),
            }),
        })
    }

    /// Every plugin the library declares, read when it was opened, nothing
    /// constructed: one or more, ordered by their exported symbols (the
    /// crate's name, then the type's), the same on every open.
    ///
    /// ```no_run
    /// # use mpplugin::PluginLibrary;
    /// // SAFETY: built from source we trust, with our toolchain and allocator.
    /// let library = unsafe { PluginLibrary::open("target/debug/libfilters.so") }?;
    /// for plugin in library.plugins() {
    ///     println!("{} handles {}", plugin.plugin_type, plugin.message.name);
    /// }
    /// let counter = library.instantiate_named::<u64>("Counter")?;
    /// # Ok::<(), mpplugin::LoadError>(())
    /// ```
    pub fn plugins(&self) -> &[PluginInfo] {
        &self.inner.plugins
    }

    /// What the library's plugin declares: read when it was opened, nothing
    /// constructed.
    ///
    /// Made for a library of one plugin, the common case. A library may
    /// declare several (see [`plugins`](Self::plugins), which lists them
    /// all): then this is the first of them, `plugins()[0]`, whose
    /// [`plugin_type`](PluginInfo::plugin_type) says which one it is, and
    /// not a description of the library. Code that may meet libraries of
    /// several plugins (a folder of plugins from others, an inspector)
    /// should call [`plugins`](Self::plugins).
    pub fn info(&self) -> &PluginInfo {
        &self.inner.plugins[0]
    }

    /// Whether [`instantiate::<T>`](Self::instantiate) would pass the checks
    /// (it may still fail in the plugin's constructor).
    ///
    /// # Errors
    /// The first check that fails, in this order: [`LoadError::Rustc`],
    /// [`LoadError::MppluginVersion`], [`LoadError::Target`], then, for a
    /// library of one plugin, [`LoadError::MessageType`],
    /// [`LoadError::MessageShape`], [`LoadError::ArgumentType`] and
    /// [`LoadError::ArgumentShape`], for a library of several,
    /// [`LoadError::NoPluginFits`] or [`LoadError::AmbiguousPlugin`]; then
    /// [`LoadError::PanicStrategy`].
    pub fn check<T: Shape>(&self) -> Result<(), LoadError> {
        select::by_types(self.plugins(), HostType::of::<T>(), None).map(drop)
    }

    /// Whether [`instantiate_with::<T, A>`](Self::instantiate_with) would
    /// pass the checks.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_with<T: Shape, A: Shape>(&self) -> Result<(), LoadError> {
        select::by_types(
            self.plugins(),
            HostType::of::<T>(),
            Some(HostType::of::<A>()),
        )
        .map(drop)
    }

    /// Whether [`instantiate_named::<T>(name)`](Self::instantiate_named)
    /// would pass the checks.
    ///
    /// # Errors
    /// [`LoadError::NoSuchPlugin`], then the first check of the plugin
    /// named that fails, in this order: [`LoadError::Rustc`],
    /// [`LoadError::MppluginVersion`], [`LoadError::Target`],
    /// [`LoadError::MessageType`], [`LoadError::MessageShape`],
    /// [`LoadError::ArgumentType`], [`LoadError::ArgumentShape`],
    /// [`LoadError::PanicStrategy`].
    pub fn check_named<T: Shape>(&self, name: &str) -> Result<(), LoadError> {
        select::by_name(self.plugins(), name, HostType::of::<T>(), None).map(drop)
    }

    /// Whether [`instantiate_named_with::<T, A>(name,
    /// …)`](Self::instantiate_named_with) would pass the checks.
    ///
    /// # Errors
    /// As [`check_named`](Self::check_named).
    pub fn check_named_with<T: Shape, A: Shape>(&self, name: &str) -> Result<(), LoadError> {
        select::by_name(
            self.plugins(),
            name,
            HostType::of::<T>(),
            Some(HostType::of::<A>()),
        )
        .map(drop)
    }

    /// The checks that need no message type: rustc, target and panic
    /// strategy, of every plugin of the library. What an inspector that does
    /// not know the host's types can tell.
    ///
    /// # Errors
    /// [`LoadError::Rustc`], [`LoadError::MppluginVersion`], [`LoadError::Target`],
    /// [`LoadError::PanicStrategy`].
    pub fn check_build(&self) -> Result<(), LoadError> {
        self.plugins().iter().try_for_each(|info| {
            declaration::check_toolchain(info)?;
            declaration::check_panic_strategy(info)
        })
    }

    /// Checks the library against message type `T` and no argument, then
    /// constructs a plugin (from its `new()` or `Default`). Call it as often
    /// as you like: each call makes a new, independent instance.
    ///
    /// A library of several plugins constructs the one plugin that handles
    /// `T` and takes no argument; where several do, the call is refused with
    /// their names ([`LoadError::AmbiguousPlugin`]): pick one with
    /// [`instantiate_named`](Self::instantiate_named).
    ///
    /// # Errors
    /// Every refusal of [`check`](Self::check), then
    /// [`LoadError::ConstructorFailed`] or
    /// [`LoadError::ConstructorPanicked`].
    pub fn instantiate<T: Send + Sync + Shape>(&self) -> Result<LoadedPlugin<T>, LoadError> {
        let index = select::by_types(self.plugins(), HostType::of::<T>(), None)?;
        // SAFETY: the declaration says the constructor takes no argument
        // (checked just now), so it does not read the null pointer.
        unsafe { self.construct(index, std::ptr::null()) }
    }

    /// Checks the library against message type `T` and argument type `A`,
    /// then constructs a plugin from its `new(&A)`. A library of several
    /// plugins constructs the one that handles `T` and takes an `A`, as
    /// [`instantiate`](Self::instantiate) does.
    ///
    /// # Errors
    /// Every refusal of [`check_with`](Self::check_with), then
    /// [`LoadError::ConstructorFailed`] or
    /// [`LoadError::ConstructorPanicked`].
    pub fn instantiate_with<T: Send + Sync + Shape, A: Shape>(
        &self,
        argument: &A,
    ) -> Result<LoadedPlugin<T>, LoadError> {
        let index = select::by_types(
            self.plugins(),
            HostType::of::<T>(),
            Some(HostType::of::<A>()),
        )?;
        // SAFETY: the plugin's argument type is `A` (checked just now).
        unsafe { self.construct(index, (argument as *const A).cast()) }
    }

    /// Checks the plugin whose type is `name`, as written in its impl block
    /// (`"Counter"` for `impl Counter`, `"filters::Counter"` for `impl
    /// filters::Counter`), against message type `T` and no argument, then
    /// constructs it. The way to pick one of several plugins of a library
    /// that handle the same message type.
    ///
    /// # Errors
    /// Every refusal of [`check_named`](Self::check_named) (a name the
    /// library does not declare is [`LoadError::NoSuchPlugin`], which lists
    /// those it does), then [`LoadError::ConstructorFailed`] or
    /// [`LoadError::ConstructorPanicked`].
    pub fn instantiate_named<T: Send + Sync + Shape>(
        &self,
        name: &str,
    ) -> Result<LoadedPlugin<T>, LoadError> {
        let index = select::by_name(self.plugins(), name, HostType::of::<T>(), None)?;
        // SAFETY: the declaration says the constructor takes no argument
        // (checked just now), so it does not read the null pointer.
        unsafe { self.construct(index, std::ptr::null()) }
    }

    /// [`instantiate_named`](Self::instantiate_named) for a plugin whose
    /// `new` takes an argument of type `A`.
    ///
    /// # Errors
    /// Every refusal of [`check_named_with`](Self::check_named_with), then
    /// [`LoadError::ConstructorFailed`] or
    /// [`LoadError::ConstructorPanicked`].
    pub fn instantiate_named_with<T: Send + Sync + Shape, A: Shape>(
        &self,
        name: &str,
        argument: &A,
    ) -> Result<LoadedPlugin<T>, LoadError> {
        let index = select::by_name(
            self.plugins(),
            name,
            HostType::of::<T>(),
            Some(HostType::of::<A>()),
        )?;
        // SAFETY: the plugin's argument type is `A` (checked just now).
        unsafe { self.construct(index, (argument as *const A).cast()) }
    }

    /// Calls the constructor of plugin `index`.
    ///
    /// # Safety
    /// The checks of plugin `index` for `T` passed, and `argument` is what
    /// its declaration's constructor expects.
    unsafe fn construct<T: 'static>(
        &self,
        index: usize,
        argument: *const c_void,
    ) -> Result<LoadedPlugin<T>, LoadError> {
        // What the constructor logs already reaches the host.
        self.inner.logging.call_once(|| {
            // SAFETY: the declaration passed the checks (same rustc, target
            // and mpplugin version), and the library is never closed.
            unsafe { crate::logging::connect(self.inner.declarations[index].logging) }
        });
        crate::logging::push_if_changed();
        let mut plugin = MaybeUninit::<Box<dyn Plugin<T>>>::uninit();
        let mut error = MaybeUninit::<String>::uninit();
        // SAFETY: the declaration was checked: same rustc, target and ABI, and
        // the plugin's message type is `T`, so the constructor writes a
        // `Box<dyn Plugin<T>>` or a `String` exactly as `Constructor`
        // documents; it catches its own panics.
        let status = unsafe {
            (self.inner.declarations[index].constructor)(
                argument,
                plugin.as_mut_ptr().cast(),
                error.as_mut_ptr().cast(),
            )
        };
        let path = || self.inner.plugins[index].path.clone();
        match status {
            ConstructStatus::Constructed => Ok(LoadedPlugin {
                // SAFETY: `Constructed` means the plugin was written.
                plugin: Some(unsafe { plugin.assume_init() }),
                library: self.clone(),
                index,
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
/// and a path whose file was replaced, which is then loaded from a copy and
/// takes the entry over (the old library stays loaded, out of this map).
/// They are never closed, so this only grows by one entry per distinct
/// path opened.
fn opened() -> MutexGuard<'static, HashMap<PathBuf, (FileIdentity, PluginLibrary)>> {
    static OPENED: LazyLock<Mutex<HashMap<PathBuf, (FileIdentity, PluginLibrary)>>> =
        LazyLock::new(Mutex::default);
    OPENED.lock().unwrap_or_else(PoisonError::into_inner)
}
