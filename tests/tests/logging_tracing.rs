//! A loaded plugin's `tracing` events reach the host's subscriber (here a
//! `tracing-subscriber` registry with a reloadable level and a capturing
//! layer): with their level, target, place and typed fields, inside host
//! spans named as the plugin's were, with the spans' fields; not below the
//! host's level (not even formatted), which reaches the plugin after
//! loading too; and from a plugin built against an older `tracing`.
//!
//! One test binary of its own, since the subscriber is global; its tests
//! take turns (`turn`), each with the events captured from its start.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use fixture_types::Event;
use mpplugin::{Message, Plugin};
use mpplugin_tests::fixtures::{formatted, load_event_plugin as load};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::reload;

#[derive(Debug, Clone, PartialEq)]
struct Captured {
    level: tracing::Level,
    target: String,
    module_path: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    fields: Vec<String>,
    /// Each span's name and fields, outermost first.
    spans: Vec<String>,
}

/// Each field as `name=type:value`.
struct Fields(Vec<String>);

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push(format!("{field}=i64:{value}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push(format!("{field}=u64:{value}"));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push(format!("{field}=f64:{value}"));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push(format!("{field}=bool:{value}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push(format!("{field}=str:{value}"));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push(format!("{field}=debug:{value:?}"));
    }
}

static EVENTS: Mutex<Vec<Captured>> = Mutex::new(Vec::new());

struct Capture;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        attributes.record(&mut fields);
        let span = context.span(id).expect("a new span is in the registry");
        let described = format!("{}{{{}}}", span.name(), fields.0.join(" "));
        span.extensions_mut().insert(described);
    }

    fn on_event(&self, event: &tracing::Event<'_>, context: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        if fields.0 == ["message=debug:the host's subscriber panics"] {
            panic!("the host's subscriber panics on request");
        }
        let spans = context
            .event_scope(event)
            .map(|scope| {
                scope
                    .from_root()
                    .map(|span| {
                        span.extensions()
                            .get::<String>()
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let metadata = event.metadata();
        EVENTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Captured {
                level: *metadata.level(),
                target: metadata.target().to_owned(),
                module_path: metadata.module_path().map(str::to_owned),
                file: metadata.file().map(str::to_owned),
                line: metadata.line(),
                fields: fields.0,
                spans,
            });
    }
}

type Reload = reload::Handle<LevelFilter, tracing_subscriber::Registry>;

/// The subscriber's level filter, set once.
fn reload() -> &'static Reload {
    static RELOAD: OnceLock<Reload> = OnceLock::new();
    RELOAD.get_or_init(|| {
        let (filter, reload) = reload::Layer::new(LevelFilter::OFF);
        let subscriber = tracing_subscriber::registry().with(filter).with(Capture);
        tracing::subscriber::set_global_default(subscriber).unwrap();
        reload
    })
}

/// Sets the host's level: the reload rebuilds the host's interest, as a
/// user's reload does.
fn set_level(level: LevelFilter) {
    reload().modify(|filter| *filter = level).unwrap();
}

/// This test's turn with the subscriber, at `level`, with nothing captured
/// yet.
fn turn(level: LevelFilter) -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    set_level(level);
    clear();
    turn
}

fn clear() {
    EVENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}

/// The events captured so far from `target`.
fn captured(target: &str) -> Vec<Captured> {
    EVENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|event| event.target == target)
        .cloned()
        .collect()
}

/// The fields every event of the `logs` fixture has, at `level`.
fn fields(level: &str, n: u64) -> Vec<String> {
    vec![
        format!("message=debug:tracing {level} {n}"),
        format!("number=u64:{n}"),
        "flag=bool:true".to_owned(),
        "ratio=f64:0.5".to_owned(),
        "word=str:str".to_owned(),
        "shown=debug:counted".to_owned(),
    ]
}

#[test]
fn tracing_events_reach_the_host_subscriber_with_fields_and_span_names() {
    let _turn = turn(LevelFilter::INFO);
    let mut plugin = load("logs");
    let before = formatted(&mut plugin);
    plugin.handle_message(Message::new(Event::Add(7)));
    let events = captured("fixture_logs");
    let levels: Vec<_> = events.iter().map(|event| event.level).collect();
    assert_eq!(
        levels,
        [
            tracing::Level::ERROR,
            tracing::Level::WARN,
            tracing::Level::INFO
        ]
    );
    for (event, level) in events.iter().zip(["error", "warn", "info"]) {
        assert_eq!(event.fields, fields(level, 7));
        // `inner` is a debug span: off at info.
        assert_eq!(event.spans, ["outer{request=u64:7}"]);
        assert_eq!(event.module_path.as_deref(), Some("fixture_logs"));
        let file = event.file.as_deref().unwrap_or_default();
        assert!(file.ends_with("logs/src/lib.rs"), "{file}");
        assert!(event.line.is_some_and(|line| line > 0), "{event:?}");
    }
    // The host has no logger: the fixture's `log` records are off and
    // format nothing; each forwarded event formats its `shown` once.
    assert_eq!(formatted(&mut plugin) - before, 3);
}

#[test]
fn events_below_the_host_level_are_neither_formatted_nor_forwarded() {
    let _turn = turn(LevelFilter::OFF);
    let mut plugin = load("logs");
    let before = formatted(&mut plugin);
    plugin.handle_message(Message::new(Event::Add(1)));
    assert_eq!(captured("fixture_logs"), []);
    assert_eq!(formatted(&mut plugin) - before, 0, "nothing formatted");

    // A change of the host's level after loading reaches the plugin.
    set_level(LevelFilter::TRACE);
    let before = formatted(&mut plugin);
    plugin.handle_message(Message::new(Event::Add(2)));
    let events = captured("fixture_logs");
    assert_eq!(events.len(), 5, "{events:?}");
    for (event, level) in events
        .iter()
        .zip(["error", "warn", "info", "debug", "trace"])
    {
        assert_eq!(event.fields, fields(level, 2));
        assert_eq!(
            event.spans,
            ["outer{request=u64:2}", "inner{stage=str:handle}"]
        );
    }
    assert_eq!(formatted(&mut plugin) - before, 5);
}

#[test]
fn a_plugin_built_against_an_older_tracing_still_forwards() {
    let _turn = turn(LevelFilter::INFO);
    let mut plugin = load("old-log");
    plugin.handle_message(Message::new(Event::Add(3)));
    let events = captured("fixture_old_log");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].level, tracing::Level::WARN);
    assert_eq!(
        events[0].fields,
        ["message=debug:old tracing 3", "number=u64:3"]
    );
    assert_eq!(events[0].spans, ["old_span{request=u64:3}"]);
}

#[test]
fn panics_in_the_plugin_forwarder_and_the_host_subscriber_stay_on_their_side() {
    let _turn = turn(LevelFilter::INFO);
    let mut plugin = load("logs");
    // A `Display` that panics inside the plugin's forwarder, then the host's
    // subscriber panicking inside the host's callback: neither unwinds
    // across `extern "C"` (that would abort this test binary), neither
    // reaches the handler, and the next event still arrives.
    assert_eq!(
        plugin.handle_message(Message::new(Event::Add(fixture_logs::PANICS))),
        None
    );
    let events = captured("fixture_logs");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].fields, ["message=debug:after the panics"]);
}

#[test]
fn two_plugins_and_the_host_emit_concurrently_without_a_lost_or_garbled_event() {
    let _turn = turn(LevelFilter::INFO);
    const SENT: u64 = 300;
    let mut host = mpplugin::Host::<Event>::new();
    host.attach(load("logs"));
    host.attach(load("old-log"));
    for n in 0..SENT {
        host.send(Event::Add(n)).unwrap();
        let span = tracing::info_span!("host_span", request = n);
        let _entered = span.enter();
        tracing::info!(target: "the_host", number = n, "host {n}");
    }
    let exits = host.end();
    assert_eq!(exits.len(), 2, "{exits:?}");

    // Each event once, with its own fields and its own spans: none lost,
    // none mixed with another's.
    let mut seen: HashMap<(Vec<String>, Vec<String>), usize> = HashMap::new();
    for target in ["fixture_logs", "fixture_old_log", "the_host"] {
        for event in captured(target) {
            *seen.entry((event.fields, event.spans)).or_default() += 1;
        }
    }
    let mut expected = HashMap::new();
    for n in 0..SENT {
        for level in ["error", "warn", "info"] {
            expected.insert(
                (fields(level, n), vec![format!("outer{{request=u64:{n}}}")]),
                1,
            );
        }
        expected.insert(
            (
                vec![
                    format!("message=debug:old tracing {n}"),
                    format!("number=u64:{n}"),
                ],
                vec![format!("old_span{{request=u64:{n}}}")],
            ),
            1,
        );
        expected.insert(
            (
                vec![format!("message=debug:host {n}"), format!("number=u64:{n}")],
                vec![format!("host_span{{request=u64:{n}}}")],
            ),
            1,
        );
    }
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen, expected);
}
