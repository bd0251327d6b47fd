//! The host's side of the connection: the one table of callbacks every
//! plugin library receives, the libraries connected so far, and pushing
//! the host's maximum levels to them (when a library is connected, when the
//! levels changed before a loaded plugin handles a message, and on
//! [`sync_levels`](super::sync_levels)). Without the host's features the
//! callbacks are stubs and the levels are "off": a plugin then neither
//! formats nor forwards anything. The only call into a library here is its
//! `init` and `set_levels` hooks.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

#[cfg(not(feature = "tracing"))]
use super::ffi::TracingEvent;
use super::ffi::{self, HostLogging};
#[cfg(not(feature = "log"))]
use super::ffi::{LogRecord, Text};
use crate::abi::LoggingHooks;

#[cfg(feature = "log")]
use super::emit_log;
#[cfg(feature = "tracing")]
use super::emit_tracing;

/// The table every library receives: built once, never freed.
fn table() -> &'static HostLogging {
    static TABLE: OnceLock<HostLogging> = OnceLock::new();
    TABLE.get_or_init(|| HostLogging {
        size: size_of::<HostLogging>(),
        #[cfg(feature = "log")]
        log_identity: emit_log::identity(),
        #[cfg(not(feature = "log"))]
        log_identity: 0,
        #[cfg(feature = "tracing")]
        tracing_identity: emit_tracing::identity(),
        #[cfg(not(feature = "tracing"))]
        tracing_identity: 0,
        log_enabled,
        log,
        log_flush,
        event,
    })
}

#[cfg(feature = "log")]
use emit_log::{enabled as log_enabled, flush as log_flush, log};

#[cfg(not(feature = "log"))]
extern "C" fn log_enabled(_: ffi::Level, _: Text) -> u32 {
    0
}
#[cfg(not(feature = "log"))]
extern "C" fn log(_: *const LogRecord) {}
#[cfg(not(feature = "log"))]
extern "C" fn log_flush() {}

#[cfg(feature = "tracing")]
use emit_tracing::event;

#[cfg(not(feature = "tracing"))]
extern "C" fn event(_: *const TracingEvent) {}

/// The host's maximum levels, `log`'s in the low byte and `tracing`'s in
/// the next.
fn levels() -> u32 {
    #[cfg(feature = "log")]
    let log = emit_log::max_level();
    #[cfg(not(feature = "log"))]
    let log = 0;
    #[cfg(feature = "tracing")]
    let tracing = emit_tracing::max_level();
    #[cfg(not(feature = "tracing"))]
    let tracing = 0;
    log | (tracing << 8)
}

fn split(levels: u32) -> (ffi::Level, ffi::Level) {
    (levels & 0xff, levels >> 8)
}

/// The levels last pushed to every library; `u32::MAX` before the first.
static PUSHED: AtomicU32 = AtomicU32::new(u32::MAX);

/// The `set_levels` hooks of the libraries connected so far.
fn connected() -> MutexGuard<'static, Vec<extern "C" fn(ffi::Level, ffi::Level)>> {
    static CONNECTED: Mutex<Vec<extern "C" fn(ffi::Level, ffi::Level)>> = Mutex::new(Vec::new());
    CONNECTED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Connects a library: installs its forwarders and gives it the host's
/// levels.
///
/// # Safety
/// `hooks` are those of a declaration that passed the loader's checks
/// (same rustc, target and mpplugin version), in a library that is never
/// closed.
pub(crate) unsafe fn connect(hooks: LoggingHooks) {
    let table: *const HostLogging = table();
    // SAFETY: the hooks follow `LoggingHooks`' contract (the caller
    // guarantees they are this mpplugin's); the table is a static of the
    // host.
    unsafe { (hooks.init)(table.cast::<c_void>()) };
    let mut connected = connected();
    connected.push(hooks.set_levels);
    let (log, tracing) = split(levels());
    (hooks.set_levels)(log, tracing);
}

/// Pushes the host's levels to every library connected so far.
pub(crate) fn push() {
    let connected = connected();
    let levels = levels();
    PUSHED.store(levels, Ordering::Relaxed);
    let (log, tracing) = split(levels);
    for set_levels in connected.iter() {
        set_levels(log, tracing);
    }
}

/// [`push`], if the host's levels changed since the last push: two atomic
/// loads otherwise.
pub(crate) fn push_if_changed() {
    if levels() != PUSHED.load(Ordering::Relaxed) {
        push();
    }
}
