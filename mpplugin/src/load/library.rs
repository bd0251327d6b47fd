//! [`PluginLibrary`], the handle of an opened library: what stays loaded
//! (the library, never closed, and its declaration) and what it said about
//! itself. Only the handle: opening, checking and constructing are the
//! pipeline's, in `mod.rs`, and the plugins made from it are `loaded.rs`'s.

use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::Arc;

use super::info::PluginInfo;
use crate::abi::PluginDeclaration;

pub(super) struct LibraryInner {
    /// Never dropped: libraries are never closed (see the module docs).
    pub(super) _library: ManuallyDrop<libloading::Library>,
    pub(super) declaration: &'static PluginDeclaration,
    pub(super) info: PluginInfo,
}

/// An opened plugin library: its declaration read, nothing constructed yet.
/// Cheap to clone; every clone and every plugin made from it share the one
/// loaded library.
#[derive(Clone)]
pub struct PluginLibrary {
    pub(super) inner: Arc<LibraryInner>,
}

impl fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("info", &self.inner.info)
            .finish_non_exhaustive()
    }
}
