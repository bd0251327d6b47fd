//! mpplugin core (crate docs are written with the examples).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod abi;
mod host;
pub mod load;
mod message;
mod plugin;
#[cfg(feature = "tokio")]
pub mod tokio;
mod worker;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use host::{DEFAULT_CAPACITY, Delivery, Ending, Exit, Host, PluginId, SendError, TrySendError};
pub use load::{LoadError, LoadedPlugin, PluginInfo, PluginLibrary, load, load_with};
pub use message::Message;
pub use mpplugin_macros::plugin;
pub use plugin::Plugin;
