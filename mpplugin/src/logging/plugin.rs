//! The plugin's side of the connection: the two `extern "C"` hooks of
//! [`LoggingHooks`] that the plugin's declaration carries, which install the
//! forwarders of the plugin's features in the plugin's own copies of `log`
//! and `tracing-core` and set their levels. Compiled into every plugin with
//! its copy of mpplugin; a host never calls its own. Both catch every panic:
//! none unwinds out of an `extern "C"` function.

use std::ffi::c_void;
use std::panic;

use super::ffi::{self, HostLogging};
#[cfg(feature = "log")]
use super::forward_log;
#[cfg(feature = "tracing")]
use super::forward_tracing;
use crate::abi::LoggingHooks;

/// What `#[plugin]` puts in every declaration.
pub(crate) const HOOKS: LoggingHooks = LoggingHooks { init, set_levels };

/// # Safety
/// `host` is null, or points to the host's `HostLogging`, which lives for
/// the rest of the process.
unsafe extern "C" fn init(host: *const c_void) {
    let host = host.cast::<HostLogging>();
    if host.is_null() {
        return;
    }
    // SAFETY: the caller guarantees the table lives for the rest of the
    // process; the loader calls this only after the declaration passed its
    // checks, so host and plugin built this table's layout from one
    // mpplugin version with one rustc.
    let host: &'static HostLogging = unsafe { &*host };
    if host.size != size_of::<HostLogging>() {
        return;
    }
    let _ = panic::catch_unwind(|| {
        #[cfg(feature = "log")]
        forward_log::install(host);
        #[cfg(feature = "tracing")]
        forward_tracing::install(host);
    });
}

extern "C" fn set_levels(log: ffi::Level, tracing: ffi::Level) {
    let _ = panic::catch_unwind(|| {
        #[cfg(feature = "log")]
        forward_log::set_level(log);
        #[cfg(feature = "tracing")]
        forward_tracing::set_level(tracing);
    });
    let _ = (log, tracing);
}
