//! What logging costs a loaded plugin: one message handled by the `logs`
//! fixture (five `log` records, two spans and five `tracing` events, each
//! with a value to format) beside the `good` fixture, which logs nothing.
//! Both are built in release for this bench, and called directly, on the
//! bench's thread, through their `LoadedPlugin`.
//!
//! - `quiet_plugin`: `good`, the floor.
//! - `levels_off`: `logs` with the host's `log` and `tracing` levels off:
//!   every record stops at its macro in the plugin, nothing is formatted and
//!   nothing calls into the host. The claim is that this costs what
//!   `quiet_plugin` costs.
//! - `errors_only`: the host's levels at error: one `log` record and one
//!   event are formatted and forwarded, the rest stop at the macro.
//! - `everything`: the host's levels at trace: everything is formatted and
//!   forwarded to a host logger that drops it and a `tracing-subscriber`
//!   registry (which keeps the host's spans) with no layer.
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench logging
//! ```

use std::sync::LazyLock;

use fixture_types::Event;
use mpplugin::{LoadedPlugin, Message, Plugin, PluginLibrary};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;

fn main() {
    divan::main();
}

/// The two fixtures, built in release.
static BUILT: LazyLock<mpplugin::build::Built> = LazyLock::new(|| {
    mpplugin_tests::fixtures::build()
        .package("fixture-logs")
        .package("fixture-good")
        .release(true)
        .run()
        .unwrap_or_else(|error| panic!("cannot build the fixtures: {error}"))
});

fn load(name: &str) -> LoadedPlugin<Event> {
    let path = BUILT.library(name).unwrap();
    // SAFETY: the fixtures are built from this repository, with the same
    // toolchain and the system allocator.
    unsafe { PluginLibrary::open(path) }
        .unwrap()
        .instantiate::<Event>()
        .unwrap()
}

/// Takes every record, keeps none.
struct Drop;

impl log::Log for Drop {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        divan::black_box(record.args());
    }
    fn flush(&self) {}
}

type Reload = reload::Handle<LevelFilter, tracing_subscriber::Registry>;

/// The host's logger and subscriber, set once; each bench sets the levels.
static RELOAD: LazyLock<Reload> = LazyLock::new(|| {
    static DROP: Drop = Drop;
    log::set_logger(&DROP).unwrap();
    let (filter, reload) = reload::Layer::new(LevelFilter::OFF);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(filter)).unwrap();
    reload
});

fn levels(log: log::LevelFilter, tracing: LevelFilter) {
    log::set_max_level(log);
    RELOAD.modify(|filter| *filter = tracing).unwrap();
}

fn handle(bencher: divan::Bencher<'_, '_>, name: &str) {
    let mut plugin = load(name);
    bencher.bench_local(|| plugin.handle_message(Message::new(Event::Add(1))));
}

#[divan::bench]
fn quiet_plugin(bencher: divan::Bencher<'_, '_>) {
    levels(log::LevelFilter::Off, LevelFilter::OFF);
    handle(bencher, "fixture-good");
}

#[divan::bench]
fn levels_off(bencher: divan::Bencher<'_, '_>) {
    levels(log::LevelFilter::Off, LevelFilter::OFF);
    handle(bencher, "fixture-logs");
}

#[divan::bench]
fn errors_only(bencher: divan::Bencher<'_, '_>) {
    levels(log::LevelFilter::Error, LevelFilter::ERROR);
    handle(bencher, "fixture-logs");
}

#[divan::bench]
fn everything(bencher: divan::Bencher<'_, '_>) {
    levels(log::LevelFilter::Trace, LevelFilter::TRACE);
    handle(bencher, "fixture-logs");
}
