//! A loaded plugin's `log` records reach the host's logger: with their
//! level, target, module path, file, line and message; not below the host's
//! level (not even formatted), which reaches the plugin after loading too;
//! from a plugin built against an older `log`; and without a lost or
//! garbled record when two plugins and the host log at once. A plugin
//! attached in-process logs through the host's own `log`, once.
//!
//! One test binary of its own, since the logger is global; its tests take
//! turns (`turn`), each with the records captured from its start.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use fixture_types::Event;
use mpplugin::{Host, Message, Plugin};
use mpplugin_tests::fixtures::{formatted, load_event_plugin as load};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Captured {
    level: log::Level,
    target: String,
    module_path: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    message: String,
}

struct Capture {
    records: Mutex<Vec<Captured>>,
    /// How often a record of the `logs` fixture was asked about: once per
    /// record that reaches the host, never for one below its level.
    asked: AtomicU64,
}

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        if metadata.target() == "fixture_logs" {
            self.asked.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.args().to_string() == "the host's logger panics" {
            panic!("the host's logger panics on request");
        }
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Captured {
                level: record.level(),
                target: record.target().to_owned(),
                module_path: record.module_path().map(str::to_owned),
                file: record.file().map(str::to_owned),
                line: record.line(),
                message: record.args().to_string(),
            });
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture {
    records: Mutex::new(Vec::new()),
    asked: AtomicU64::new(0),
};

fn asked() -> u64 {
    CAPTURE.asked.load(Ordering::Relaxed)
}

/// This test's turn with the logger, at `level`, with nothing captured yet.
fn turn(level: log::LevelFilter) -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(level);
    CAPTURE
        .records
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    turn
}

/// The records captured so far from `target`.
fn captured(target: &str) -> Vec<Captured> {
    CAPTURE
        .records
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|record| record.target == target)
        .cloned()
        .collect()
}

fn messages(records: &[Captured]) -> Vec<(log::Level, &str)> {
    records
        .iter()
        .map(|record| (record.level, record.message.as_str()))
        .collect()
}

#[test]
fn log_records_reach_the_host_logger_with_level_target_and_place() {
    let _turn = turn(log::LevelFilter::Info);
    let mut plugin = load("logs");
    // The constructor's record: the library is connected before it runs.
    assert!(
        messages(&captured("fixture_logs")).contains(&(log::Level::Info, "logs plugin started")),
        "{:?}",
        captured("fixture_logs")
    );
    CAPTURE.records.lock().unwrap().clear();

    assert_eq!(plugin.handle_message(Message::new(Event::Add(7))), None);
    let records = captured("fixture_logs");
    assert_eq!(
        messages(&records),
        [
            (log::Level::Error, "log error 7 counted"),
            (log::Level::Warn, "log warn 7 counted"),
            (log::Level::Info, "log info 7 counted"),
        ]
    );
    for record in &records {
        assert_eq!(record.module_path.as_deref(), Some("fixture_logs"));
        let file = record.file.as_deref().unwrap_or_default();
        assert!(file.ends_with("logs/src/lib.rs"), "{file}");
        assert!(record.line.is_some_and(|line| line > 0), "{record:?}");
    }
    // One line apart in the source, one line apart in the records.
    assert_eq!(records[1].line.unwrap(), records[0].line.unwrap() + 1);
}

#[test]
fn records_below_the_host_level_are_neither_formatted_nor_forwarded() {
    let _turn = turn(log::LevelFilter::Warn);
    let mut plugin = load("logs");
    // The host has no `tracing` subscriber: the fixture's events are off
    // too, and format nothing.
    let before = formatted(&mut plugin);
    plugin.handle_message(Message::new(Event::Add(1)));
    assert_eq!(
        messages(&captured("fixture_logs")),
        [
            (log::Level::Error, "log error 1 counted"),
            (log::Level::Warn, "log warn 1 counted"),
        ]
    );
    assert_eq!(
        formatted(&mut plugin) - before,
        2,
        "only what was forwarded"
    );

    // A change of the host's level after loading reaches the plugin.
    log::set_max_level(log::LevelFilter::Off);
    CAPTURE.records.lock().unwrap().clear();
    let (before, asked_before) = (formatted(&mut plugin), asked());
    plugin.handle_message(Message::new(Event::Add(2)));
    assert_eq!(messages(&captured("fixture_logs")), []);
    assert_eq!(formatted(&mut plugin) - before, 0, "nothing formatted");
    assert_eq!(asked() - asked_before, 0, "no call");

    log::set_max_level(log::LevelFilter::Trace);
    let before = formatted(&mut plugin);
    plugin.handle_message(Message::new(Event::Add(3)));
    assert_eq!(
        messages(&captured("fixture_logs")),
        [
            (log::Level::Error, "log error 3 counted"),
            (log::Level::Warn, "log warn 3 counted"),
            (log::Level::Info, "log info 3 counted"),
            (log::Level::Debug, "log debug 3 counted"),
            (log::Level::Trace, "log trace 3 counted"),
        ]
    );
    assert_eq!(formatted(&mut plugin) - before, 5);
}

/// The `log` version a lock file resolves.
fn log_version(lock: &Path) -> String {
    let text = std::fs::read_to_string(lock).unwrap();
    let at = text
        .find("name = \"log\"\nversion = \"")
        .unwrap_or_else(|| panic!("no `log` in {}", lock.display()));
    let version = &text[at + "name = \"log\"\nversion = \"".len()..];
    version[..version.find('"').unwrap()].to_owned()
}

#[test]
fn a_plugin_built_against_an_older_log_still_forwards() {
    let _turn = turn(log::LevelFilter::Info);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plugin_log = log_version(&root.join("fixtures/old-log/Cargo.lock"));
    let host_log = log_version(&root.join("../Cargo.lock"));
    assert_eq!(plugin_log, "0.4.20");
    assert_ne!(
        plugin_log, host_log,
        "the two sides must differ for this test to mean anything"
    );

    let mut plugin = load("old-log");
    plugin.handle_message(Message::new(Event::Add(3)));
    let records = captured("fixture_old_log");
    assert_eq!(messages(&records), [(log::Level::Warn, "old log 3")]);
    assert_eq!(records[0].module_path.as_deref(), Some("fixture_old_log"));
}

#[test]
fn two_plugins_and_the_host_log_concurrently_without_a_lost_or_garbled_record() {
    let _turn = turn(log::LevelFilter::Info);
    const SENT: u64 = 300;
    let mut host = Host::<Event>::new();
    host.attach(load("logs"));
    host.attach(load("old-log"));
    for n in 0..SENT {
        host.send(Event::Add(n)).unwrap();
        log::info!(target: "the_host", "host {n}");
    }
    let exits = host.end();
    assert_eq!(exits.len(), 2, "{exits:?}");

    let mut seen: HashMap<String, usize> = HashMap::new();
    for target in ["fixture_logs", "fixture_old_log", "the_host"] {
        for record in captured(target) {
            *seen.entry(record.message).or_default() += 1;
        }
    }
    let mut expected = HashMap::from([("logs plugin started".to_owned(), 1)]);
    for n in 0..SENT {
        for message in [
            format!("log error {n} counted"),
            format!("log warn {n} counted"),
            format!("log info {n} counted"),
            format!("old log {n}"),
            format!("host {n}"),
        ] {
            expected.insert(message, 1);
        }
    }
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen, expected);
}

#[test]
fn a_plugin_attached_in_process_logs_through_the_host_log_once() {
    let _turn = turn(log::LevelFilter::Info);
    // The same crate is loaded as a library elsewhere in this binary; the
    // in-process type is the host's own code, and logs as the host does.
    let _loaded = load("logs");
    CAPTURE.records.lock().unwrap().clear();
    let mut host = Host::<Event>::new();
    host.attach(fixture_logs::Logs::new());
    host.send(Event::Add(5)).unwrap();
    host.end();
    assert_eq!(
        messages(&captured("fixture_logs")),
        [
            (log::Level::Info, "logs plugin started"),
            (log::Level::Error, "log error 5 counted"),
            (log::Level::Warn, "log warn 5 counted"),
            (log::Level::Info, "log info 5 counted"),
        ]
    );
}

#[test]
fn panics_in_the_plugin_forwarder_and_the_host_logger_stay_on_their_side() {
    let _turn = turn(log::LevelFilter::Info);
    let mut plugin = load("logs");
    CAPTURE.records.lock().unwrap().clear();
    // A `Display` that panics inside the plugin's forwarder, then the host's
    // logger panicking inside the host's callback: neither unwinds across
    // `extern "C"` (that would abort this test binary), neither reaches the
    // handler, and the next record still arrives.
    assert_eq!(
        plugin.handle_message(Message::new(Event::Add(fixture_logs::PANICS))),
        None
    );
    assert_eq!(
        messages(&captured("fixture_logs")),
        [(log::Level::Error, "after the panics")]
    );
}

#[test]
fn sync_levels_reaches_a_plugin_that_logs_from_its_own_thread_between_messages() {
    let _turn = turn(log::LevelFilter::Info);
    let mut plugin = load("logs");
    plugin.handle_message(Message::new(Event::Add(fixture_logs::THREAD_NEXT_REPORT)));
    CAPTURE.records.lock().unwrap().clear();
    let (reply, answers) = std::sync::mpsc::sync_channel(0);
    plugin.handle_message(Message::new(Event::Report(reply)));
    // The plugin's thread waits to hand over "ready"; no message reaches the
    // plugin from here on, so only `sync_levels` can carry the change.
    log::set_max_level(log::LevelFilter::Debug);
    mpplugin::logging::sync_levels();
    assert_eq!(answers.recv().unwrap(), "ready");
    assert_eq!(answers.recv().unwrap(), "logged");
    assert_eq!(
        messages(&captured("fixture_logs")),
        [(log::Level::Debug, "from a thread of the plugin")]
    );
}
