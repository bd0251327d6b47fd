//! A loaded plugin's `log` records and `tracing` events reach the host's
//! logger and subscriber (features `log` and `tracing`, on by default).
//!
//! A plugin library links its own copies of std, `log` and `tracing-core`,
//! whose globals (the logger, the dispatcher, the maximum levels) nobody
//! sets: without this module, everything a loaded plugin logs vanishes.
//! Nothing here is for plugin authors to call: they use `log`'s and
//! `tracing`'s macros as anywhere else.
//!
//! # How a record crosses
//!
//! 1. Every declaration carries two `extern "C"` hooks
//!    ([`LoggingHooks`](crate::abi::LoggingHooks)), compiled into the plugin
//!    with its copy of mpplugin. Once a library's declaration has passed the
//!    loader's checks, before its first constructor runs, the loader calls
//!    its `init` with the host's table of callbacks; that installs a
//!    forwarder, a `log::Log` and a `tracing_core::Subscriber` of the
//!    plugin's own copies, in those copies (unless the plugin set a logger or
//!    a default subscriber of its own, which it keeps). Then `set_levels`
//!    gives the plugin the host's maximum levels.
//! 2. The plugin's macros check the plugin's maximum level, which is the
//!    host's: a record below it is neither formatted nor forwarded, and costs
//!    what a disabled `log::debug!` costs anywhere.
//! 3. A `log` record at an enabled level: the forwarder asks the host's
//!    logger whether it wants the level and target (one call, nothing
//!    formatted), formats the message, and hands the host a `#[repr(C)]`
//!    record of plain data (level, target, module path, file, line,
//!    message), which the host rebuilds as a record of its own `log` for
//!    its own logger.
//! 4. A `tracing` event: the forwarder formats its fields (integers, floats,
//!    booleans and strings keep their type, anything else crosses as its
//!    `Debug` text) and collects the spans it is in (their names and
//!    fields); the host dispatches it to its own subscriber, from a host
//!    callsite that carries the plugin callsite's name, target, level, file,
//!    line, module path and field names, inside host spans named as the
//!    plugin's were.
//!
//! No type of `log` or `tracing-core` ever crosses, so host and plugin may
//! use different semver-compatible versions of both. Every callback catches
//! its panics on its own side (a `Display` that panics while a plugin's
//! record is formatted drops that record).
//!
//! # When the host's level changes
//!
//! Before a loaded plugin is constructed, handles a message or is dropped,
//! the host compares its maximum levels (`log::max_level()`, `tracing`'s
//! `LevelFilter::current()`) with the ones it last gave the libraries, and
//! gives them the new ones if they changed: two atomic loads when they did
//! not. A plugin that logs from a thread of its own between messages sees
//! the change at the next message, or at once when the host calls
//! [`sync_levels`]. Call it too after reloading a `tracing` filter that
//! changed which targets are enabled but not the maximum level.
//!
//! # What does not cross
//!
//! Span timings (the host's spans open and close around each event), the
//! plugin's `follows_from` links, per-layer filtering inside the plugin (the
//! plugin has one subscriber, the forwarder; the host's filters apply to
//! what it receives), `valuable` values and `log`'s key-values (neither is
//! forwarded), and more than 32 fields of one event or span.
//!
//! A plugin attached in-process (an ordinary type, not loaded) runs the
//! host's copies of `log` and `tracing`: nothing is forwarded, and nothing
//! is printed twice.
//!
//! # Where each part lives
//!
//! `ffi.rs` is the plain data that crosses; `plugin.rs` the plugin's two
//! hooks, `forward_log.rs` and `forward_tracing.rs` its forwarders;
//! `host.rs` the host's table and the levels it pushes, `emit_log.rs` and
//! `emit_tracing.rs` what the host does with a record. `unsafe` here is the
//! reading of what the other side lent for one call, and `host.rs`'s call of
//! a library's `init`.

#[cfg(feature = "log")]
mod emit_log;
#[cfg(feature = "tracing")]
mod emit_tracing;
mod ffi;
#[cfg(feature = "log")]
mod forward_log;
#[cfg(feature = "tracing")]
mod forward_tracing;
mod host;
mod plugin;

pub(crate) use host::{connect, push_if_changed};
pub(crate) use plugin::HOOKS;

/// Gives every loaded plugin library the host's current maximum levels
/// (`log::max_level()` and `tracing`'s `LevelFilter::current()`) at once.
///
/// Hosts do it by themselves before a loaded plugin is constructed, handles
/// a message or is dropped, when the levels changed since; call this after changing them if a plugin logs
/// from threads of its own meanwhile, or after reloading a `tracing` filter
/// that enables other targets at the same maximum level.
pub fn sync_levels() {
    host::push();
}
