//! The demo's logging: a logger for `log` records and a `tracing`
//! subscriber, both writing to stderr. What the loaded plugins log with
//! either reaches them too (mpplugin's features `log` and `tracing`).

/// Writes each record as `[LEVEL target] message`.
struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
    }

    fn flush(&self) {}
}

/// Installs both, at level info.
pub(crate) fn install() {
    static LOGGER: Stderr = Stderr;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .without_time()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
}
