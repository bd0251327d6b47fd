//! The [`Plugin`] trait: what a host calls.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use crate::message::Message;

/// A plugin: state that handles messages of type `T`, one at a time.
///
/// A host runs each attached plugin on its own thread or task and calls
/// [`handle_message`](Plugin::handle_message) once per message, in the order
/// the messages were sent, so the plugin's state needs no locks and the trait
/// asks for `Send` but not `Sync`.
///
/// Write plugins with the [`#[plugin]`](crate::plugin) attribute, which
/// implements this trait and the constructor a host loads; implement it by
/// hand only for plugins that live in the host's own binary.
///
/// ```
/// use mpplugin::{Message, Plugin};
///
/// struct Counter(u64);
///
/// impl Plugin<u64> for Counter {
///     fn handle_message(&mut self, message: Message<u64>) -> Option<u8> {
///         self.0 += *message;
///         // `Some(status)` detaches the plugin; its exit records the status.
///         (self.0 > 100).then_some(1)
///     }
/// }
/// ```
pub trait Plugin<T>: Send + 'static {
    /// Handles one message. `None` asks for the next one; `Some(status)`
    /// detaches the plugin: it is dropped, later messages no longer reach it,
    /// and its [`Exit`](crate::Exit) records `status`.
    ///
    /// A panic here is caught, ends this plugin (its exit records the panic
    /// message), and leaves every other plugin running.
    fn handle_message(&mut self, message: Message<T>) -> Option<u8>;

    /// A name for this plugin in exits and errors: by default its type's
    /// name, for a loaded plugin the name of the crate it was built from.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    // The two methods below are how a host calls and drops a plugin. Being
    // provided methods, they are compiled into the crate that builds the
    // plugin's vtable: for a loaded plugin that is the plugin's cdylib, so the
    // panic is caught by the plugin's own copy of std. A panic cannot unwind
    // into the host: the host's `catch_unwind` does not recognise a foreign
    // std's panic and the process aborts.

    /// Not public API: calls `handle_message` with panics contained.
    #[doc(hidden)]
    fn __mpplugin_handle(&mut self, message: Message<T>) -> Handled {
        match panic::catch_unwind(AssertUnwindSafe(|| self.handle_message(message))) {
            Ok(None) => Handled::Continue,
            Ok(Some(status)) => Handled::Detach(status),
            Err(payload) => Handled::Panicked(panic_message(payload)),
        }
    }

    /// Not public API: reads and resets how many messages this thread
    /// dropped the value of, in the plugin's own code (its copy of
    /// mpplugin), whose `Drop` panicked (contained by [`Message`]'s drop).
    /// Called on the thread that handled the batch, right after it.
    #[doc(hidden)]
    fn __mpplugin_message_drop_panics(&self) -> u64 {
        crate::message::take_drop_panics()
    }

    /// Not public API: the root of the shape graph of the state the plugin
    /// restores from at a reload, which the host reads as it reads a
    /// declaration's; `None` if it declares none.
    #[doc(hidden)]
    fn __mpplugin_state_shape(&self) -> Option<crate::shape::ShapeRef> {
        None
    }

    /// Not public API: an address inside the object whose memory holds the
    /// plugin's state shape graph, against which the host checks it: a
    /// loaded plugin's declaration; null for a plugin built into the host
    /// (its graph is in the host's own object). Never the graph's own root,
    /// which could point anywhere.
    #[doc(hidden)]
    fn __mpplugin_state_anchor(&self) -> *const std::ffi::c_void {
        std::ptr::null()
    }

    /// Not public API: turns the plugin into its state at a reload (its
    /// `save`), panics contained; a plugin without state is dropped.
    #[doc(hidden)]
    fn __mpplugin_save(self: Box<Self>) -> Saved {
        Saved::Nothing(self.__mpplugin_drop())
    }

    /// Not public API: replaces the plugin with one restored from `state`
    /// (its `restore`), panics contained: `Err` with the panic's message,
    /// the plugin left as it was.
    ///
    /// # Safety
    /// `state` is a `Box<S>` of [`SavedState`] whose shape is the one
    /// [`__mpplugin_state_shape`](Plugin::__mpplugin_state_shape) gives;
    /// it is consumed either way.
    #[doc(hidden)]
    unsafe fn __mpplugin_restore(&mut self, state: *mut ()) -> Result<(), String> {
        let _ = state;
        Err("the plugin declares no `restore`".to_owned())
    }

    /// Not public API: drops the plugin with panics contained, freeing its
    /// memory with the allocator of the code that allocated it.
    #[doc(hidden)]
    fn __mpplugin_drop(self: Box<Self>) -> Option<String> {
        panic::catch_unwind(AssertUnwindSafe(move || drop(self)))
            .err()
            .map(panic_message)
    }
}

/// Not public API: what a plugin left at a reload, from
/// [`Plugin::__mpplugin_save`].
#[doc(hidden)]
pub enum Saved {
    /// It declares no state: it was dropped (with the message of a panic
    /// in its `Drop`, if any).
    Nothing(Option<String>),
    /// Its state, boxed by the plugin's code.
    State(SavedState),
    /// `save` panicked with this message.
    Panicked(String),
}

/// Not public API: a saved state on its way to the new plugin.
#[doc(hidden)]
pub struct SavedState {
    /// A `Box<S>`, as a raw pointer: the old plugin's code allocated it.
    /// `S`'s shape is the plugin's
    /// [`__mpplugin_state_shape`](Plugin::__mpplugin_state_shape).
    pub state: *mut (),
    /// Drops the `Box<S>`, in the old plugin's code, panics contained:
    /// for a state that no plugin restores.
    pub drop: unsafe fn(*mut ()) -> Option<String>,
}

/// Not public API: how one call of `handle_message` ended.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// `None`: the plugin wants the next message.
    Continue,
    /// `Some(status)`: the plugin detaches.
    Detach(u8),
    /// The handler panicked with this message.
    Panicked(String),
}

/// Turns a panic payload into its message, and drops the payload where it was
/// made. A payload whose own `Drop` panics is leaked rather than let unwind.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic payload is not a string".to_owned()
    };
    if let Err(nested) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(nested);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panicky;

    impl Plugin<u8> for Panicky {
        fn handle_message(&mut self, message: Message<u8>) -> Option<u8> {
            match *message {
                0 => None,
                1 => Some(7),
                2 => panic!("static text"),
                3 => panic!("formatted {}", 3),
                _ => std::panic::panic_any(42_u32),
            }
        }
    }

    impl Drop for Panicky {
        fn drop(&mut self) {
            panic!("dropped");
        }
    }

    #[test]
    fn handle_reports_each_way_a_handler_can_return() {
        let mut plugin = Panicky;
        assert_eq!(plugin.__mpplugin_handle(Message::new(0)), Handled::Continue);
        assert_eq!(
            plugin.__mpplugin_handle(Message::new(1)),
            Handled::Detach(7)
        );
        assert_eq!(
            plugin.__mpplugin_handle(Message::new(2)),
            Handled::Panicked("static text".into())
        );
        assert_eq!(
            plugin.__mpplugin_handle(Message::new(3)),
            Handled::Panicked("formatted 3".into())
        );
        assert_eq!(
            plugin.__mpplugin_handle(Message::new(4)),
            Handled::Panicked("panic payload is not a string".into())
        );
        let boxed: Box<dyn Plugin<u8>> = Box::new(plugin);
        assert_eq!(boxed.__mpplugin_drop(), Some("dropped".to_owned()));
    }

    #[test]
    fn default_name_is_the_type_name() {
        struct Quiet;
        impl Plugin<u8> for Quiet {
            fn handle_message(&mut self, _: Message<u8>) -> Option<u8> {
                None
            }
        }
        assert!(Quiet.name().ends_with("Quiet"), "{}", Quiet.name());
    }
}
