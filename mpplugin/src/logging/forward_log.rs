//! The plugin's side of `log` (feature `log`): a `log::Log`, compiled into
//! the plugin with the plugin's copy of mpplugin and installed in the
//! plugin's own copy of `log`, that hands each record to the host as a
//! [`LogRecord`]. The plugin's maximum level is the host's, so a record
//! below it stops at the `log` macro: nothing formatted, no call. Runs in
//! the plugin only; the host's half is `emit_log.rs`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::ffi::{self, HostLogging, LogRecord, Text};

/// The host's table, once this copy's forwarder is installed.
static HOST: OnceLock<&'static HostLogging> = OnceLock::new();
/// Whether the forwarder is this copy's logger: only then do the host's
/// levels apply here (a plugin that set a logger of its own keeps it, and
/// its level).
static INSTALLED: AtomicBool = AtomicBool::new(false);

struct Forwarder;

static FORWARDER: Forwarder = Forwarder;

/// This copy of `log`, as the host's table names copies.
pub(super) fn identity() -> usize {
    log::set_max_level as fn(log::LevelFilter) as usize
}

/// Installs the forwarder in this copy of `log`, unless it is the host's
/// own copy or the plugin set a logger of its own.
pub(super) fn install(host: &'static HostLogging) {
    if host.log_identity == 0 || host.log_identity == identity() || HOST.set(host).is_err() {
        return;
    }
    if log::set_logger(&FORWARDER).is_ok() {
        INSTALLED.store(true, Ordering::Release);
    }
}

/// Makes the host's maximum level this copy's.
pub(super) fn set_level(level: ffi::Level) {
    if INSTALLED.load(Ordering::Acquire) {
        log::set_max_level(filter(level));
    }
}

fn filter(level: ffi::Level) -> log::LevelFilter {
    match level {
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        5 => log::LevelFilter::Trace,
        _ => log::LevelFilter::Off,
    }
}

fn encode(level: log::Level) -> ffi::Level {
    level as usize as ffi::Level
}

impl log::Log for Forwarder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        let Some(host) = HOST.get() else {
            return false;
        };
        metadata.level() <= log::max_level()
            && (host.log_enabled)(encode(metadata.level()), Text::new(metadata.target())) != 0
    }

    fn log(&self, record: &log::Record<'_>) {
        // The host's logger is asked first, so that a record it filters out
        // (by target, say) is never formatted either.
        if !self.enabled(record.metadata()) {
            return;
        }
        let Some(host) = HOST.get() else {
            return;
        };
        // A `Display` that panics while the message is formatted panics
        // here, in the plugin's std: the record is dropped, and the panic
        // goes no further than a record would.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            let formatted;
            let message = match record.args().as_str() {
                Some(text) => text,
                None => {
                    formatted = record.args().to_string();
                    &formatted
                }
            };
            let record = LogRecord {
                level: encode(record.level()),
                target: Text::new(record.target()),
                module_path: Text::optional(record.module_path()),
                file: Text::optional(record.file()),
                line: record.line().unwrap_or(u32::MAX),
                message: Text::new(message),
            };
            (host.log)(&record);
        }));
    }

    fn flush(&self) {
        if let Some(host) = HOST.get() {
            (host.log_flush)();
        }
    }
}
