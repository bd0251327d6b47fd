//! The plain data a plugin's logging forwarders hand to the host: the
//! host's table of callbacks, a `log` record, a `tracing` event with its
//! fields and spans, and the level encoding. Only `#[repr(C)]` types made of
//! fixed-size integers, raw pointers and `extern "C"` functions, so that
//! they read the same whatever versions of `log` and `tracing-core` each
//! side was built with. This file names no type of either crate and calls
//! nothing.

// Without one of the features, part of this is used by neither side.
#![cfg_attr(not(all(feature = "log", feature = "tracing")), allow(dead_code))]

/// A borrowed `&str` as a pointer and a length; a null pointer is `None`.
/// Valid for the duration of the call that receives it.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Text {
    ptr: *const u8,
    len: usize,
}

impl Text {
    /// `None`.
    pub(crate) const NONE: Self = Self {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// Borrows `text`.
    pub(crate) fn new(text: &str) -> Self {
        Self {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    /// Borrows `text`, or `NONE`.
    pub(crate) fn optional(text: Option<&str>) -> Self {
        text.map_or(Self::NONE, Self::new)
    }

    /// The text; `""` for `NONE`.
    ///
    /// # Safety
    /// Made by [`Text::new`] or [`Text::optional`] from a string that still
    /// lives for `'a`.
    pub(crate) unsafe fn as_str<'a>(self) -> &'a str {
        // SAFETY: the caller guarantees the string lives.
        unsafe { self.as_option() }.unwrap_or("")
    }

    /// The text, or `None` for `NONE`.
    ///
    /// # Safety
    /// As [`as_str`](Self::as_str).
    pub(crate) unsafe fn as_option<'a>(self) -> Option<&'a str> {
        if self.ptr.is_null() {
            return None;
        }
        // SAFETY: made from a `&str` that lives for `'a` (the caller
        // guarantees it): `len` initialised bytes of valid UTF-8.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.len) };
        // Checked rather than assumed: a wrong byte here must not become
        // undefined behaviour in the host's logger.
        Some(std::str::from_utf8(bytes).unwrap_or("<not UTF-8>"))
    }
}

/// A slice as a pointer and a length, valid for the duration of the call
/// that receives it.
#[repr(C)]
pub(crate) struct Slice<T> {
    ptr: *const T,
    len: usize,
}

impl<T> Clone for Slice<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Slice<T> {}

impl<T> Slice<T> {
    /// Borrows `items`.
    pub(crate) fn new(items: &[T]) -> Self {
        Self {
            ptr: items.as_ptr(),
            len: items.len(),
        }
    }

    /// The items.
    ///
    /// # Safety
    /// Made by [`Slice::new`] from a slice that still lives for `'a`.
    pub(crate) unsafe fn as_slice<'a>(self) -> &'a [T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: made from a live slice (the caller guarantees it).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A level: 1 (error) to 5 (trace); as a maximum, 0 is "off". `log` and
/// `tracing` number their levels the same way.
pub(crate) type Level = u32;

/// What the host offers a plugin's forwarders: one static table in the
/// host's copy of mpplugin, the same for every library.
#[repr(C)]
pub(crate) struct HostLogging {
    /// `size_of::<HostLogging>()` in the host.
    pub(crate) size: usize,
    /// An address that identifies the host's copy of `log` (0 without the
    /// host's feature `log`): a plugin that shares it has nothing to forward.
    pub(crate) log_identity: usize,
    /// The same for `tracing-core`.
    pub(crate) tracing_identity: usize,
    /// Whether the host's logger wants records of this level and target
    /// (1) or not (0): asked before a record is formatted.
    pub(crate) log_enabled: extern "C" fn(level: Level, target: Text) -> u32,
    /// Logs one record with the host's logger.
    pub(crate) log: extern "C" fn(record: *const LogRecord),
    /// Flushes the host's logger.
    pub(crate) log_flush: extern "C" fn(),
    /// Dispatches one event to the host's subscriber.
    pub(crate) event: extern "C" fn(event: *const TracingEvent),
}

/// A `log` record, its message formatted.
#[repr(C)]
pub(crate) struct LogRecord {
    pub(crate) level: Level,
    pub(crate) target: Text,
    pub(crate) module_path: Text,
    pub(crate) file: Text,
    /// The line, or `u32::MAX` for none.
    pub(crate) line: u32,
    pub(crate) message: Text,
}

/// What a `tracing` callsite says about itself (an event's or a span's).
#[repr(C)]
pub(crate) struct TracingMetadata {
    /// The address of the callsite's `&'static Metadata` in the plugin:
    /// one per callsite for the life of the process (libraries are never
    /// closed), so the host builds its own callsite once per key.
    pub(crate) key: usize,
    pub(crate) name: Text,
    pub(crate) target: Text,
    pub(crate) module_path: Text,
    pub(crate) file: Text,
    /// The line, or `u32::MAX` for none.
    pub(crate) line: u32,
    pub(crate) level: Level,
    /// The names of the callsite's fields, in order.
    pub(crate) field_names: Slice<Text>,
}

/// [`TracingValue::kind`]: a signed integer in `number`.
pub(crate) const VALUE_I64: u32 = 0;
/// An unsigned integer in `number`.
pub(crate) const VALUE_U64: u32 = 1;
/// A float in `float`.
pub(crate) const VALUE_F64: u32 = 2;
/// A boolean in `number` (0 or 1).
pub(crate) const VALUE_BOOL: u32 = 3;
/// A string in `text`, recorded as a string.
pub(crate) const VALUE_STR: u32 = 4;
/// Anything else, formatted with `Debug` into `text`.
pub(crate) const VALUE_DEBUG: u32 = 5;

/// One field's value.
#[repr(C)]
pub(crate) struct TracingValue {
    /// The field's name, one of its callsite's `field_names` (`Field::index`
    /// is not in every `tracing-core` 0.1).
    pub(crate) field: Text,
    pub(crate) kind: u32,
    pub(crate) number: u64,
    pub(crate) float: f64,
    pub(crate) text: Text,
}

/// A span an event is in: its callsite and the values recorded on it.
#[repr(C)]
pub(crate) struct TracingSpan {
    pub(crate) metadata: TracingMetadata,
    pub(crate) values: Slice<TracingValue>,
}

/// A `tracing` event, its field values and the spans it is in, outermost
/// first.
#[repr(C)]
pub(crate) struct TracingEvent {
    pub(crate) metadata: TracingMetadata,
    pub(crate) values: Slice<TracingValue>,
    pub(crate) spans: Slice<TracingSpan>,
}
