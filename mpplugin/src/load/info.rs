//! What a plugin says about itself, as plain data: [`PluginInfo`] and the
//! [`TypeInfo`] and [`PanicStrategy`] in it, with their `Display`. Nothing
//! here reads a library or decides anything: `declaration.rs` fills these in
//! from a loaded declaration and compares them with the host's.

use std::fmt;
use std::path::PathBuf;

use crate::shape::TypeShape;

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
    /// The library's path, as given to [`PluginLibrary::open`](crate::load::PluginLibrary::open).
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
    /// The message type's shape as the plugin sees it: its fields, offsets
    /// and variants, compared with the host's before construction.
    /// [`TypeShape::opaque_fields`] lists the fields checked by name, size
    /// and alignment only.
    pub message_shape: TypeShape,
    /// The argument type's shape, if it takes one.
    pub argument_shape: Option<TypeShape>,
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

/// A headline (name, version, plugin type), then one indented line per
/// field, as a list of plugins prints them:
///
/// ```text
/// greeter-plugin 0.1.0 (type `Greeter`)
///   file      target/debug/libgreeter_plugin.so
///   symbol    __mpplugin_declaration__greeter_plugin__Greeter
///   message   `greeting_types::Greeting` (size 24, align 8)
///   argument  none
///   rustc     rustc 1.95.0 (59807616e1fa2540724bfbac14d7976d7e4a3860 2026-04-14)
///   target    x86_64-unknown-linux-gnu
///   mpplugin  0.1.0 (ABI 5)
///   panic     unwind
/// ```
impl fmt::Display for PluginInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (type `{}`)",
            self.name, self.version, self.plugin_type
        )?;
        write!(f, "\n  file      {}", self.path.display())?;
        write!(f, "\n  symbol    {}", self.symbol)?;
        write!(f, "\n  message   {}", self.message)?;
        match &self.argument {
            Some(argument) => write!(f, "\n  argument  {argument}")?,
            None => write!(f, "\n  argument  none")?,
        }
        let opaque: Vec<String> = std::iter::once(&self.message_shape)
            .chain(&self.argument_shape)
            .flat_map(TypeShape::opaque_fields)
            .collect();
        if !opaque.is_empty() {
            write!(
                f,
                "\n  opaque    {} (checked by name, size and alignment only)",
                opaque.join(", ")
            )?;
        }
        write!(f, "\n  rustc     {}", self.rustc)?;
        write!(f, "\n  target    {}", self.target)?;
        write!(
            f,
            "\n  mpplugin  {} (ABI {})",
            self.mpplugin_version, self.abi_version
        )?;
        write!(f, "\n  panic     {}", self.panic_strategy)
    }
}
