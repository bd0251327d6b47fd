//! What a plugin says about itself, as plain data: [`PluginInfo`] and the
//! [`TypeInfo`] and [`PanicStrategy`] in it, with their `Display`. Nothing
//! here reads a library or decides anything: `declaration.rs` fills these in
//! from a loaded declaration and compares them with the host's.

use std::fmt;
use std::path::PathBuf;

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
