//! [`LoadedPlugin`]: a plugin constructed from a library, which keeps the
//! library loaded and is called and dropped through the plugin's own code.
//! It calls nothing unsafe but the plugin's `restore`, whose contract it
//! forwards: the constructor that made it was called, and checked, by the
//! pipeline in `mod.rs`.

use std::fmt;

use super::info::PluginInfo;
use super::library::PluginLibrary;
use crate::message::Message;
use crate::plugin::Plugin;
use crate::plugin::{Handled, Saved};

/// A plugin constructed from a library. It is a [`Plugin<T>`]: attach it to
/// a host, or call it yourself. It keeps its library loaded.
///
/// Dropping it drops the plugin through the plugin's own code; a panic there
/// is contained (and, outside a host, not reported).
pub struct LoadedPlugin<T: 'static> {
    // Dropped before `library` (see `Drop`).
    pub(super) plugin: Option<Box<dyn Plugin<T>>>,
    pub(super) library: PluginLibrary,
    /// Which of the library's plugins it is.
    pub(super) index: usize,
}

impl<T: 'static> LoadedPlugin<T> {
    /// The library this plugin was made from.
    pub fn library(&self) -> &PluginLibrary {
        &self.library
    }

    /// What this plugin declared: its entry in the library's
    /// [`plugins`](PluginLibrary::plugins).
    pub fn info(&self) -> &PluginInfo {
        &self.library.plugins()[self.index]
    }

    fn drop_plugin(&mut self) -> Option<String> {
        crate::logging::push_if_changed();
        self.plugin
            .take()
            .and_then(|plugin| plugin.__mpplugin_drop())
    }
}

impl<T: 'static> fmt::Debug for LoadedPlugin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name())
            .field("path", &self.info().path)
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

    /// The plugin crate's package name; for a plugin of a library that
    /// declares several, `package::Type` (`filters::Counter`), so that the
    /// exits of its plugins tell them apart.
    fn name(&self) -> &str {
        &self.library.inner.names[self.index]
    }

    fn __mpplugin_handle(&mut self, message: Message<T>) -> Handled {
        // A change of the host's log level reaches the plugin before it
        // handles the message.
        crate::logging::push_if_changed();
        match self.plugin.as_mut() {
            Some(plugin) => plugin.__mpplugin_handle(message),
            None => Handled::Panicked("the plugin was already dropped".to_owned()),
        }
    }

    fn __mpplugin_message_drop_panics(&self) -> u64 {
        self.plugin
            .as_ref()
            .map_or(0, |plugin| plugin.__mpplugin_message_drop_panics())
    }

    fn __mpplugin_state_shape(&self) -> Option<crate::shape::ShapeRef> {
        self.plugin
            .as_ref()
            .and_then(|plugin| plugin.__mpplugin_state_shape())
    }

    fn __mpplugin_state_anchor(&self) -> *const std::ffi::c_void {
        // The library's declaration: its state shape must lie in the library.
        std::ptr::from_ref(self.library.inner.declarations[self.index]).cast()
    }

    fn __mpplugin_save(mut self: Box<Self>) -> Saved {
        crate::logging::push_if_changed();
        match self.plugin.take() {
            Some(plugin) => plugin.__mpplugin_save(),
            None => Saved::Nothing(None),
        }
    }

    unsafe fn __mpplugin_restore(&mut self, state: *mut ()) -> Result<(), String> {
        crate::logging::push_if_changed();
        match self.plugin.as_mut() {
            // SAFETY: the caller's, for the plugin this one wraps.
            Some(plugin) => unsafe { plugin.__mpplugin_restore(state) },
            None => Err("the plugin was already dropped".to_owned()),
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
