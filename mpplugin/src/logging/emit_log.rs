//! The host's side of `log` (feature `log`): the callbacks of the host's
//! table that ask the host's logger whether it wants a record and hand it
//! the plugin's records, rebuilt as `log::Record`s of the host's copy of
//! `log`. Runs in the host only; the plugin's half is `forward_log.rs`.
//! Every callback catches the host's panics: none unwinds into the plugin.

use std::panic::{self, AssertUnwindSafe};

use super::ffi::{self, LogRecord, Text};

/// This copy of `log`, as the host's table names copies.
pub(super) fn identity() -> usize {
    log::set_max_level as fn(log::LevelFilter) as usize
}

/// The host's maximum level.
pub(super) fn max_level() -> ffi::Level {
    log::max_level() as usize as ffi::Level
}

fn decode(level: ffi::Level) -> Option<log::Level> {
    match level {
        1 => Some(log::Level::Error),
        2 => Some(log::Level::Warn),
        3 => Some(log::Level::Info),
        4 => Some(log::Level::Debug),
        5 => Some(log::Level::Trace),
        _ => None,
    }
}

pub(super) extern "C" fn enabled(level: ffi::Level, target: Text) -> u32 {
    panic::catch_unwind(|| {
        let Some(level) = decode(level) else {
            return 0;
        };
        // SAFETY: the plugin's forwarder made `target` from a `&str` that
        // lives until this call returns.
        let target = unsafe { target.as_str() };
        let metadata = log::Metadata::builder().level(level).target(target).build();
        // The plugin checked the level against the host's maximum, which
        // it was given, before it called.
        u32::from(log::logger().enabled(&metadata))
    })
    .unwrap_or(0)
}

pub(super) extern "C" fn log(record: *const LogRecord) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the plugin's forwarder passes a record, and the strings
        // it borrows, that live until this call returns.
        let record = unsafe { &*record };
        let Some(level) = decode(record.level) else {
            return;
        };
        // SAFETY: as above.
        let (target, module_path, file, message) = unsafe {
            (
                record.target.as_str(),
                record.module_path.as_option(),
                record.file.as_option(),
                record.message.as_str(),
            )
        };
        log::logger().log(
            &log::Record::builder()
                .args(format_args!("{message}"))
                .level(level)
                .target(target)
                .module_path(module_path)
                .file(file)
                .line((record.line != u32::MAX).then_some(record.line))
                .build(),
        );
    }));
}

pub(super) extern "C" fn flush() {
    let _ = panic::catch_unwind(|| log::logger().flush());
}
