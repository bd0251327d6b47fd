//! The declaration a plugin library exports, and the constructor it points to.
//!
//! Not for plugin authors: the [`#[plugin]`](crate::plugin) attribute writes
//! both. Public so that tools can name the layout, and documented so that the
//! layout can be reviewed.
//!
//! The declaration is one `#[repr(C)]` static per plugin, exported under
//! [`SYMBOL_PREFIX`] followed by the crate's and the type's name, so that two
//! plugin crates linked into one binary never export the same symbol. Its
//! first field, the [`DeclarationPrefix`], keeps its layout in every version
//! of mpplugin: the loader reads the prefix, and reads nothing else unless the
//! magic value and [`ABI_VERSION`] match. The rest of the layout is the one of
//! this ABI version, made only of fixed-size integers, raw pointers and
//! `extern "C"` function pointers, so that it reads the same whichever rustc
//! built the plugin; the loader compares rustc identities only after reading
//! it.

use std::ffi::c_void;

use crate::shape::{Shape, ShapeRef};

/// The first eight bytes of every declaration: `"mpplugin"` in ASCII.
pub const MAGIC: u64 = u64::from_le_bytes(*b"mpplugin");

/// The version of everything that crosses the library boundary: the
/// declaration's layout, the constructor's signature, and the types a host
/// and a plugin exchange (the `Plugin` trait, `Message`). It changes whenever
/// any of them does.
///
/// 2: the declaration carries [`LoggingHooks`].
/// 3: the declaration carries the message and argument shapes (as
/// functions that encode them).
/// 4: `Plugin` has a hidden method that reports the panicking message drops
/// a plugin's own code contained, and `Message` contains them.
/// 5: `Plugin` has hidden methods for a reload's state (`save`, `restore`,
/// the state's shape).
/// 6: the declaration carries the message and argument shapes as static
/// node graphs ([`ShapeRef`]), which the host reads without calling the
/// plugin.
/// 7: `Plugin`'s hidden state-shape method returns the root of the state's
/// graph, not bytes the plugin encoded.
/// 8: `Plugin` has a hidden method that names the object holding its state
/// shape (a loaded plugin's declaration), which the host checks it against.
/// 9: a shape's const generic arguments are two words each (`u128`), not
/// one (`u64`, which cut `u128` arguments short).
pub const ABI_VERSION: u32 = 9;

/// Every declaration's exported symbol starts with this; the loader looks for
/// it among the library's exported symbols.
pub const SYMBOL_PREFIX: &str = "__mpplugin_declaration__";

/// The rustc that built this copy of mpplugin: release, commit hash and
/// commit date, as `rustc -vV` reports them.
pub const RUSTC: &str = env!("MPPLUGIN_RUSTC");

/// The target triple this copy of mpplugin was built for.
pub const TARGET: &str = env!("MPPLUGIN_TARGET");

/// This copy of mpplugin's version.
pub const MPPLUGIN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// [`PluginDeclaration::panic_strategy`] of a plugin built with
/// `panic = "unwind"`.
pub const PANIC_UNWIND: u32 = 1;
/// [`PluginDeclaration::panic_strategy`] of a plugin built with
/// `panic = "abort"`.
pub const PANIC_ABORT: u32 = 2;

/// The part of a declaration whose layout never changes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclarationPrefix {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_VERSION`] of the mpplugin that built the plugin.
    pub abi_version: u32,
    /// `size_of::<PluginDeclaration>()` of that version.
    pub size: u32,
}

/// A `&'static str` as a pointer and a length.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StrRef {
    /// The first byte.
    pub ptr: *const u8,
    /// The length in bytes.
    pub len: usize,
}

impl StrRef {
    /// Borrows a static string.
    pub const fn new(text: &'static str) -> Self {
        Self {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }
}

/// A type's name, size and alignment: the identity the loader compares.
/// A name alone is no identity; size and alignment go with it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TypeDescriptor {
    /// Returns `std::any::type_name` of the type. A function because
    /// `type_name` cannot run at compile time on stable Rust.
    pub name: extern "C" fn() -> StrRef,
    /// `size_of` the type.
    pub size: usize,
    /// `align_of` the type.
    pub align: usize,
}

extern "C" fn type_name_of<X: ?Sized>() -> StrRef {
    StrRef::new(std::any::type_name::<X>())
}

impl TypeDescriptor {
    /// The descriptor of `X`.
    pub const fn of<X>() -> Self {
        Self {
            name: type_name_of::<X>,
            size: size_of::<X>(),
            align: align_of::<X>(),
        }
    }
}

/// How a constructor ended.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstructStatus {
    /// The plugin was written to the plugin out-pointer.
    Constructed = 0,
    /// The plugin's `new` returned an error; its message was written to the
    /// error out-pointer.
    Failed = 1,
    /// The plugin's `new` (or `Default`) panicked; the panic message was
    /// written to the error out-pointer.
    Panicked = 2,
}

/// The one signature of every plugin constructor.
///
/// - `argument`: a `*const A` for a plugin that takes an argument of type
///   `A` (the declaration says which), ignored otherwise.
/// - `plugin`: a `*mut MaybeUninit<Box<dyn Plugin<T>>>`, written on
///   [`ConstructStatus::Constructed`] only.
/// - `error`: a `*mut MaybeUninit<String>`, written on the two other statuses
///   only.
///
/// The constructor catches every panic: none unwinds out of it.
pub type Constructor = unsafe extern "C" fn(
    argument: *const c_void,
    plugin: *mut c_void,
    error: *mut c_void,
) -> ConstructStatus;

/// How the host connects a plugin library's copies of `log` and
/// `tracing-core` to its own (see [`logging`](crate::logging)). Both
/// functions catch their panics; both are safe to call more than once.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LoggingHooks {
    /// Installs the plugin's forwarders, which send every record to the
    /// callbacks of `host`: a `*const` to the host's `HostLogging` table
    /// (`logging/ffi.rs`), which lives for the rest of the process. Called
    /// once per library, after the checks passed and before the first
    /// constructor runs.
    pub init: unsafe extern "C" fn(host: *const c_void),
    /// Sets the plugin's maximum levels to the host's: `log`'s, then
    /// `tracing`'s, each 0 (off) to 5 (trace).
    pub set_levels: extern "C" fn(log: u32, tracing: u32),
}

/// What a plugin library exports: who built it, for which message and
/// argument types, and how to construct it.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDeclaration {
    /// Magic value, ABI version and size: read before anything else.
    pub prefix: DeclarationPrefix,
    /// [`RUSTC`] of the plugin's build.
    pub rustc: StrRef,
    /// [`TARGET`] of the plugin's build.
    pub target: StrRef,
    /// [`MPPLUGIN_VERSION`] of the plugin's build.
    pub mpplugin_version: StrRef,
    /// The plugin crate's package name.
    pub name: StrRef,
    /// The plugin crate's package version.
    pub version: StrRef,
    /// The plugin type, as written in its impl block.
    pub plugin_type: StrRef,
    /// [`PANIC_UNWIND`] or [`PANIC_ABORT`].
    pub panic_strategy: u32,
    /// 1 if the constructor takes an argument, 0 if not.
    pub takes_argument: u32,
    /// The message type `T` of `Plugin<T>`.
    pub message: TypeDescriptor,
    /// The constructor's argument type, or `()` when it takes none.
    pub argument: TypeDescriptor,
    /// The root of the message type's shape graph, in the library's
    /// static memory, compared field by field with the host's.
    pub message_shape: ShapeRef,
    /// The root of the argument type's shape graph (of `()` when it takes
    /// none).
    pub argument_shape: ShapeRef,
    /// Builds one plugin.
    pub constructor: Constructor,
    /// Connects the plugin's logging to the host's.
    pub logging: LoggingHooks,
}

// SAFETY: a declaration is immutable, and its pointers point to immutable
// static data (string literals, shape graphs) of the library that exports
// it.
unsafe impl Sync for PluginDeclaration {}

// SAFETY: as for `Sync`: a `StrRef` in a declaration points to a string
// literal, immutable for as long as the library is loaded.
unsafe impl Sync for StrRef {}
// SAFETY: see `Sync`.
unsafe impl Send for StrRef {}

/// What a plugin declares about itself that is not derived from its types.
#[derive(Debug, Clone, Copy)]
pub struct PluginMeta {
    /// The crate's package name (`CARGO_PKG_NAME`).
    pub name: &'static str,
    /// The crate's package version (`CARGO_PKG_VERSION`).
    pub version: &'static str,
    /// The plugin type as written.
    pub plugin_type: &'static str,
    /// `cfg!(panic = "unwind")`, evaluated in the plugin crate.
    pub panic_unwind: bool,
}

impl PluginDeclaration {
    /// The declaration of a plugin of message type `T` and argument type `A`
    /// (`()` with `takes_argument` false when there is none), whose logging
    /// the host connects with `logging`.
    pub const fn new<T: Shape, A: Shape>(
        meta: PluginMeta,
        takes_argument: bool,
        constructor: Constructor,
        logging: LoggingHooks,
    ) -> Self {
        Self {
            prefix: DeclarationPrefix {
                magic: MAGIC,
                abi_version: ABI_VERSION,
                size: size_of::<PluginDeclaration>() as u32,
            },
            rustc: StrRef::new(RUSTC),
            target: StrRef::new(TARGET),
            mpplugin_version: StrRef::new(MPPLUGIN_VERSION),
            name: StrRef::new(meta.name),
            version: StrRef::new(meta.version),
            plugin_type: StrRef::new(meta.plugin_type),
            panic_strategy: if meta.panic_unwind {
                PANIC_UNWIND
            } else {
                PANIC_ABORT
            },
            takes_argument: takes_argument as u32,
            message: TypeDescriptor::of::<T>(),
            argument: TypeDescriptor::of::<A>(),
            message_shape: T::SHAPE,
            argument_shape: A::SHAPE,
            constructor,
            logging,
        }
    }
}
