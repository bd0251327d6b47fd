//! The plugin's side of `tracing` (feature `tracing`): a
//! `tracing_core::Subscriber`, compiled into the plugin with the plugin's
//! copy of mpplugin and set as the global default of the plugin's own copy
//! of `tracing-core`. It keeps the plugin's spans (their names, fields and
//! parents) and hands each event to the host as a [`TracingEvent`] with the
//! spans it is in. Its level hint and callsite interest follow the host's
//! maximum level, so an event below it stops at the macro: nothing
//! formatted, no call. Runs in the plugin only; the host's half is
//! `emit_tracing.rs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, Level, LevelFilter, Metadata, Subscriber};

use super::ffi::VALUE_U64;
use super::ffi::{self, HostLogging, Slice, Text, TracingEvent, TracingMetadata, TracingSpan};
use super::ffi::{TracingValue, VALUE_BOOL, VALUE_DEBUG, VALUE_F64, VALUE_I64, VALUE_STR};

/// The host's table, once this copy's forwarder is installed.
static HOST: OnceLock<&'static HostLogging> = OnceLock::new();
/// Whether the forwarder is this copy's global default.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The host's maximum level (0 off, 5 trace).
static LEVEL: AtomicU32 = AtomicU32::new(0);

/// This copy of `tracing-core`, as the host's table names copies.
pub(super) fn identity() -> usize {
    tracing_core::callsite::rebuild_interest_cache as fn() as usize
}

/// Makes the forwarder this copy's global default, unless it is the host's
/// own copy or the plugin set a default of its own.
pub(super) fn install(host: &'static HostLogging) {
    if host.tracing_identity == 0 || host.tracing_identity == identity() || HOST.set(host).is_err()
    {
        return;
    }
    let dispatch = tracing_core::Dispatch::new(Forwarder::default());
    if tracing_core::dispatcher::set_global_default(dispatch).is_ok() {
        INSTALLED.store(true, Ordering::Release);
    }
}

/// Makes the host's maximum level this copy's, and has every callsite ask
/// again.
pub(super) fn set_level(level: ffi::Level) {
    if INSTALLED.load(Ordering::Acquire) && LEVEL.swap(level, Ordering::AcqRel) != level {
        tracing_core::callsite::rebuild_interest_cache();
    }
}

fn max_level() -> LevelFilter {
    match LEVEL.load(Ordering::Relaxed) {
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        5 => LevelFilter::TRACE,
        _ => LevelFilter::OFF,
    }
}

fn encode(level: &Level) -> ffi::Level {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        _ => 5,
    }
}

/// One recorded value, owned.
#[derive(Clone)]
struct Value {
    field: &'static str,
    kind: u32,
    number: u64,
    float: f64,
    text: String,
}

impl Value {
    fn borrow(&self) -> TracingValue {
        TracingValue {
            field: Text::new(self.field),
            kind: self.kind,
            number: self.number,
            float: self.float,
            text: Text::new(&self.text),
        }
    }
}

/// Collects an event's or a span's values.
struct Values<'a>(&'a mut Vec<Value>);

impl Values<'_> {
    fn push(&mut self, field: &Field, kind: u32, number: u64, float: f64, text: String) {
        self.0.push(Value {
            field: field.name(),
            kind,
            number,
            float,
            text,
        });
    }
}

impl Visit for Values<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, VALUE_I64, value as u64, 0.0, String::new());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, VALUE_U64, value, 0.0, String::new());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, VALUE_F64, 0, value, String::new());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, VALUE_BOOL, value as u64, 0.0, String::new());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, VALUE_STR, 0, 0.0, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, VALUE_DEBUG, 0, 0.0, format!("{value:?}"));
    }
}

/// A callsite's description, borrowing its field names.
fn describe(metadata: &'static Metadata<'static>, names: &[Text]) -> TracingMetadata {
    TracingMetadata {
        key: metadata as *const Metadata<'static> as usize,
        name: Text::new(metadata.name()),
        target: Text::new(metadata.target()),
        module_path: Text::optional(metadata.module_path()),
        file: Text::optional(metadata.file()),
        line: metadata.line().unwrap_or(u32::MAX),
        level: encode(metadata.level()),
        field_names: Slice::new(names),
    }
}

fn field_names(metadata: &Metadata<'_>) -> Vec<Text> {
    metadata
        .fields()
        .iter()
        .map(|field| Text::new(field.name()))
        .collect()
}

struct SpanData {
    metadata: &'static Metadata<'static>,
    parent: Option<u64>,
    values: Arc<Vec<Value>>,
    references: usize,
}

thread_local! {
    /// The spans this thread is in, innermost last.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

fn current() -> Option<u64> {
    ENTERED
        .try_with(|entered| entered.borrow().last().copied())
        .ok()
        .flatten()
}

#[derive(Default)]
struct Forwarder {
    spans: Mutex<HashMap<u64, SpanData>>,
    next: AtomicU64,
}

impl Forwarder {
    fn spans(&self) -> std::sync::MutexGuard<'_, HashMap<u64, SpanData>> {
        self.spans.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The spans from `innermost` outwards, as the host receives them:
    /// outermost first.
    fn scope(&self, innermost: Option<u64>) -> Vec<(&'static Metadata<'static>, Arc<Vec<Value>>)> {
        let spans = self.spans();
        let mut scope = Vec::new();
        let mut next = innermost;
        while let Some(span) = next.and_then(|id| spans.get(&id)) {
            scope.push((span.metadata, span.values.clone()));
            next = span.parent;
        }
        scope.reverse();
        scope
    }

    fn forward(&self, host: &HostLogging, event: &Event<'_>) {
        let mut values = Vec::new();
        event.record(&mut Values(&mut values));
        let parent = match event.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if event.is_contextual() => current(),
            None => None,
        };
        let scope = self.scope(parent);
        let names: Vec<Vec<Text>> = scope
            .iter()
            .map(|(metadata, _)| field_names(metadata))
            .collect();
        let span_values: Vec<Vec<TracingValue>> = scope
            .iter()
            .map(|(_, values)| values.iter().map(Value::borrow).collect())
            .collect();
        let spans: Vec<TracingSpan> = scope
            .iter()
            .zip(&names)
            .zip(&span_values)
            .map(|(((metadata, _), names), values)| TracingSpan {
                metadata: describe(metadata, names),
                values: Slice::new(values),
            })
            .collect();
        let event_names = field_names(event.metadata());
        let event_values: Vec<TracingValue> = values.iter().map(Value::borrow).collect();
        let event = TracingEvent {
            metadata: describe(event.metadata(), &event_names),
            values: Slice::new(&event_values),
            spans: Slice::new(&spans),
        };
        (host.event)(&event);
    }
}

impl Subscriber for Forwarder {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= max_level()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(max_level())
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let parent = match attributes.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if attributes.is_contextual() => current(),
            None => None,
        };
        let mut values = Vec::new();
        attributes.record(&mut Values(&mut values));
        // Ids start at 1: `Id` may not be 0.
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut spans = self.spans();
        // A span keeps its parent, so that an event in it still finds the
        // names of every span around it after the parent's handle is gone.
        if let Some(parent) = parent.and_then(|parent| spans.get_mut(&parent)) {
            parent.references += 1;
        }
        spans.insert(
            id,
            SpanData {
                metadata: attributes.metadata(),
                parent,
                values: Arc::new(values),
                references: 1,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut recorded = Vec::new();
        values.record(&mut Values(&mut recorded));
        if let Some(span) = self.spans().get_mut(&span.into_u64()) {
            Arc::make_mut(&mut span.values).extend(recorded);
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let Some(host) = HOST.get() else {
            return;
        };
        // A `Debug` that panics while a field is formatted panics here, in
        // the plugin's std: the event is dropped, and the panic goes no
        // further than an event would.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| self.forward(host, event)));
    }

    fn enter(&self, span: &Id) {
        let _ = ENTERED.try_with(|entered| entered.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        let _ = ENTERED.try_with(|entered| {
            let mut entered = entered.borrow_mut();
            if let Some(at) = entered.iter().rposition(|id| *id == span.into_u64()) {
                entered.remove(at);
            }
        });
    }

    fn clone_span(&self, span: &Id) -> Id {
        if let Some(span) = self.spans().get_mut(&span.into_u64()) {
            span.references += 1;
        }
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let mut spans = self.spans();
        let mut next = Some(span.into_u64());
        let mut closed = false;
        while let Some(id) = next.take() {
            let Some(data) = spans.get_mut(&id) else {
                break;
            };
            data.references -= 1;
            if data.references == 0 {
                next = data.parent;
                spans.remove(&id);
                closed |= id == span.into_u64();
            }
        }
        closed
    }
}
