//! [`PluginLibrary`], the handle of an opened library: what stays loaded
//! (the library, never closed, and its declarations) and what it said about
//! each of its plugins. Only the handle: opening, checking and constructing
//! are the pipeline's, in `mod.rs`, choosing among several plugins is
//! `select.rs`'s, and the plugins made from it are `loaded.rs`'s.

use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Once};

use super::info::PluginInfo;
use crate::abi::PluginDeclaration;

pub(super) struct LibraryInner {
    /// Never dropped: libraries are never closed (see the module docs).
    pub(super) _library: ManuallyDrop<libloading::Library>,
    /// One per plugin, in the order of `plugins`.
    pub(super) declarations: Vec<&'static PluginDeclaration>,
    /// What each plugin declares, in the order of their symbols; never
    /// empty.
    pub(super) plugins: Vec<PluginInfo>,
    /// The name each plugin made from the library goes by (in exits), in the
    /// order of `plugins`: the package's name for a library of one plugin,
    /// `package::Type` for a library of several.
    pub(super) names: Vec<String>,
    /// Whether the library's logging is connected to the host's.
    pub(super) logging: Once,
}

/// An opened plugin library: its declarations read, nothing constructed yet.
/// Cheap to clone; every clone and every plugin made from it share the one
/// loaded library.
#[derive(Clone)]
pub struct PluginLibrary {
    pub(super) inner: Arc<LibraryInner>,
}

impl fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("plugins", &self.inner.plugins)
            .finish_non_exhaustive()
    }
}
