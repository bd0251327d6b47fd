//! The host's side of `tracing` (feature `tracing`): the callback of the
//! host's table that dispatches a plugin's event to the host's subscriber,
//! inside host spans named as the plugin's were. The host's copy of
//! `tracing-core` needs `&'static` metadata, so each plugin callsite gets
//! one host callsite, built and registered the first time one of its events
//! arrives and kept for the life of the process (plugin libraries are never
//! closed, so there are as many as the plugins have callsites). Runs in the
//! host only; the plugin's half is `forward_tracing.rs`. The callback
//! catches the host's panics: none unwinds into the plugin.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};

use tracing_core::callsite::{self, Callsite, Identifier};
use tracing_core::field::{self, Field, FieldSet, Value, ValueSet};
use tracing_core::metadata::Kind;
use tracing_core::span::{Attributes, Id};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, Level, LevelFilter, Metadata};

use super::ffi::{self, TracingEvent, TracingMetadata, TracingValue};
use super::ffi::{VALUE_BOOL, VALUE_DEBUG, VALUE_F64, VALUE_I64, VALUE_STR, VALUE_U64};

/// This copy of `tracing-core`, as the host's table names copies.
pub(super) fn identity() -> usize {
    tracing_core::callsite::rebuild_interest_cache as fn() as usize
}

/// The host's maximum level.
pub(super) fn max_level() -> ffi::Level {
    match LevelFilter::current().into_level() {
        None => 0,
        Some(Level::ERROR) => 1,
        Some(Level::WARN) => 2,
        Some(Level::INFO) => 3,
        Some(Level::DEBUG) => 4,
        Some(_) => 5,
    }
}

fn level(level: ffi::Level) -> Level {
    match level {
        1 => Level::ERROR,
        2 => Level::WARN,
        3 => Level::INFO,
        4 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

const NEVER: u8 = 0;
const SOMETIMES: u8 = 1;
const ALWAYS: u8 = 2;

/// The host's stand-in for one plugin callsite.
struct HostCallsite {
    metadata: OnceLock<Metadata<'static>>,
    interest: AtomicU8,
}

impl Callsite for HostCallsite {
    fn set_interest(&self, interest: Interest) {
        let interest = if interest.is_never() {
            NEVER
        } else if interest.is_always() {
            ALWAYS
        } else {
            SOMETIMES
        };
        self.interest.store(interest, Ordering::Relaxed);
    }

    fn metadata(&self) -> &Metadata<'_> {
        self.metadata
            .get()
            .expect("a host callsite is registered only once its metadata is set")
    }
}

impl HostCallsite {
    fn metadata(&'static self) -> &'static Metadata<'static> {
        self.metadata
            .get()
            .expect("a host callsite is published only once its metadata is set")
    }

    /// Whether `dispatch` wants what this callsite records, asked the way
    /// tracing's own macros ask.
    fn enabled(&'static self, dispatch: &Dispatch) -> bool {
        let metadata = self.metadata();
        *metadata.level() <= LevelFilter::current()
            && match self.interest.load(Ordering::Relaxed) {
                NEVER => false,
                ALWAYS => true,
                _ => dispatch.enabled(metadata),
            }
    }
}

/// The host callsite of a plugin callsite, built on first sight.
fn callsite(plugin: &TracingMetadata, kind: Kind) -> &'static HostCallsite {
    static CALLSITES: LazyLock<RwLock<HashMap<usize, &'static HostCallsite>>> =
        LazyLock::new(Default::default);
    if let Some(found) = CALLSITES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&plugin.key)
    {
        return found;
    }
    let mut callsites = CALLSITES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = callsites.get(&plugin.key) {
        return found;
    }
    let leak = |text: &str| -> &'static str { Box::leak(text.to_owned().into_boxed_str()) };
    // SAFETY: the plugin's forwarder passes metadata whose strings live
    // until this call returns; what the host keeps is copied here.
    let (name, target, module_path, file, names) = unsafe {
        (
            leak(plugin.name.as_str()),
            leak(plugin.target.as_str()),
            plugin.module_path.as_option().map(leak),
            plugin.file.as_option().map(leak),
            plugin
                .field_names
                .as_slice()
                .iter()
                .map(|name| leak(name.as_str()))
                .collect::<Vec<_>>(),
        )
    };
    let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
    let host: &'static HostCallsite = Box::leak(Box::new(HostCallsite {
        metadata: OnceLock::new(),
        interest: AtomicU8::new(SOMETIMES),
    }));
    let _ = host.metadata.set(Metadata::new(
        name,
        target,
        level(plugin.level),
        file,
        (plugin.line != u32::MAX).then_some(plugin.line),
        module_path,
        FieldSet::new(names, Identifier(host)),
        kind,
    ));
    callsite::register(host);
    callsites.insert(plugin.key, host);
    host
}

/// One value, as the host's copy of `tracing-core` records it.
enum HostValue<'a> {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(&'a str),
    Text(field::DisplayValue<&'a str>),
}

impl<'a> HostValue<'a> {
    /// # Safety
    /// `value` is one the plugin's forwarder passed to the running call.
    unsafe fn of(value: &TracingValue) -> Option<Self> {
        // SAFETY: forwarded to the caller.
        let text = || unsafe { value.text.as_str() };
        Some(match value.kind {
            VALUE_I64 => Self::I64(value.number as i64),
            VALUE_U64 => Self::U64(value.number),
            VALUE_F64 => Self::F64(value.float),
            VALUE_BOOL => Self::Bool(value.number != 0),
            VALUE_STR => Self::Str(text()),
            VALUE_DEBUG => Self::Text(field::display(text())),
            _ => return None,
        })
    }

    fn as_value(&self) -> &dyn Value {
        match self {
            Self::I64(value) => value,
            Self::U64(value) => value,
            Self::F64(value) => value,
            Self::Bool(value) => value,
            Self::Str(value) => value,
            Self::Text(value) => value,
        }
    }
}

/// The most values of one event or span that reach the host: the length
/// every version of `tracing-core` 0.1 accepts for a value set.
const MOST_VALUES: usize = 32;

/// Calls `with` with the value set of `values` for the fields of `fields`.
///
/// # Safety
/// `values` are what the plugin's forwarder passed to the running call.
unsafe fn with_values<R>(
    fields: &FieldSet,
    values: &[TracingValue],
    with: impl FnOnce(&ValueSet<'_>) -> R,
) -> R {
    let all: Vec<Field> = fields.iter().collect();
    let Some(first) = all.first() else {
        return with(&fields.value_set(&[]));
    };
    let host: Vec<(usize, HostValue<'_>)> = values
        .iter()
        .filter_map(|value| {
            // SAFETY: forwarded to the caller.
            let name = unsafe { value.field.as_str() };
            let field = all.iter().position(|field| field.name() == name)?;
            // SAFETY: forwarded to the caller.
            Some((field, unsafe { HostValue::of(value) }?))
        })
        .take(MOST_VALUES)
        .collect();
    // The entries past the values repeat a field without a value, which a
    // value set skips.
    let set: [(&Field, Option<&dyn Value>); MOST_VALUES] =
        std::array::from_fn(|at| match host.get(at) {
            Some((field, value)) => (&all[*field], Some(value.as_value())),
            None => (first, None),
        });
    with(&fields.value_set(&set))
}

pub(super) extern "C" fn event(event: *const TracingEvent) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the plugin's forwarder passes an event, and everything it
        // borrows, that lives until this call returns.
        unsafe { dispatch(&*event) }
    }));
}

/// # Safety
/// `event` is the one the plugin's forwarder passed to the running call.
unsafe fn dispatch(event: &TracingEvent) {
    let host = callsite(&event.metadata, Kind::EVENT);
    tracing_core::dispatcher::get_default(|dispatch| {
        if !host.enabled(dispatch) {
            return;
        }
        // The plugin's spans become host spans of the same names, opened
        // around this one event and closed after it: the subscriber prints
        // (or keeps) the event inside them, without their timings.
        let mut opened: Vec<Id> = Vec::new();
        // SAFETY: as the caller guarantees.
        for span in unsafe { event.spans.as_slice() } {
            let span_site = callsite(&span.metadata, Kind::SPAN);
            if !span_site.enabled(dispatch) {
                continue;
            }
            let metadata = span_site.metadata();
            // SAFETY: as the caller guarantees.
            let id = unsafe {
                with_values(metadata.fields(), span.values.as_slice(), |values| {
                    let attributes = match opened.last() {
                        Some(parent) => Attributes::child_of(parent.clone(), metadata, values),
                        None => Attributes::new_root(metadata, values),
                    };
                    dispatch.new_span(&attributes)
                })
            };
            opened.push(id);
        }
        let metadata = host.metadata();
        // SAFETY: as the caller guarantees.
        unsafe {
            with_values(metadata.fields(), event.values.as_slice(), |values| {
                dispatch.event(&Event::new_child_of(
                    opened.last().cloned(),
                    metadata,
                    values,
                ));
            });
        }
        for id in opened.into_iter().rev() {
            dispatch.try_close(id);
        }
    });
}
