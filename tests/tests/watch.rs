//! The watcher (feature `watch`): a plugin file replaced, by hand or by a
//! real cargo build, is reported by its path, once in one report, and a
//! file beside it that nobody watches is not; each of several real builds
//! is one report, and a build that changes nothing is none.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mpplugin::watch::Watcher;
use mpplugin_tests::fixtures::{build, fixture};
use mpplugin_tests::scratch::Scratch;
use mpplugin_tests::watchdog::watchdog;

/// Long enough for any machine; the waits return as soon as the event and
/// the quiet period are in.
const LIMIT: Duration = Duration::from_secs(120);

/// A directory of the test named `test`'s own, removed when the guard
/// returned is dropped, and its real path (events name the real path).
fn scratch(test: &str) -> (Scratch, PathBuf) {
    let scratch = Scratch::new(&format!("watch-tests-{test}"));
    let dir = scratch.path().canonicalize().unwrap();
    (scratch, dir)
}

/// As a build does: a new file renamed over the old.
fn install(build: &Path, path: &Path) {
    let staged = path.with_extension("staged");
    std::fs::copy(build, &staged).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

#[test]
fn a_plugin_file_replaced_is_reported_by_its_path_and_its_neighbour_is_not() {
    let (_scratch, dir) = scratch("replaced");
    let watched = dir.join("libwatched.so");
    let neighbour = dir.join("libneighbour.so");
    install(fixture("good"), &watched);
    let watcher = Watcher::new([&watched]).unwrap();
    install(fixture("good"), &neighbour);
    install(fixture("good-args"), &watched);
    // Renamed over, copied to beside it, touched: one path, once.
    assert_eq!(watcher.wait_timeout(LIMIT), vec![watched]);
}

/// `fixture-reload` built by cargo, with `features` (empty: none), and the
/// library it reports, its directory's real path.
fn cargo_build_reload(features: &str) -> PathBuf {
    let mut cargo = build().package("fixture-reload");
    if !features.is_empty() {
        cargo = cargo.arg("--features").arg(features);
    }
    let built = cargo.run().unwrap();
    let library = built.library("fixture_reload").unwrap();
    library
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
        .join(library.file_name().unwrap())
}

/// The only test of this process that builds `fixture-reload`, whose file
/// each build with other features replaces.
///
/// Each real build that changes the watched library is reported once: a
/// second report of one build (a burst split by a pause longer than the
/// quiet period) would come before the next sentinel's report, or merged
/// into it, and the report after each build is checked to be the
/// sentinel's alone, its own file replaced by the test. A build that
/// changes nothing is not reported: the sentinel's report after it is
/// alone too. No negative wait: every wait here ends with a report that
/// must come.
#[test]
fn each_cargo_build_of_a_watched_plugin_is_reported_once() {
    let _watchdog = watchdog("cargo builds under a watcher".to_owned(), LIMIT);
    let (_scratch, dir) = scratch("sentinel");
    let sentinel = dir.join("libsentinel.so");
    install(fixture("good"), &sentinel);
    let library = cargo_build_reload("second");
    let watcher = Watcher::new([&library, &sentinel]).unwrap();
    let mut reports = Vec::new();
    for features in ["", "second", "", "second"] {
        assert_eq!(cargo_build_reload(features), library);
        reports.push(watcher.wait_timeout(LIMIT));
        install(fixture("good"), &sentinel);
        reports.push(watcher.wait_timeout(LIMIT));
    }
    // The same features again: cargo finds the build fresh, and leaves the
    // library alone.
    assert_eq!(cargo_build_reload("second"), library);
    install(fixture("good"), &sentinel);
    reports.push(watcher.wait_timeout(LIMIT));
    let built = vec![library.clone()];
    let touched = vec![sentinel.clone()];
    let expected = [
        &built, &touched, &built, &touched, &built, &touched, &built, &touched, &touched,
    ];
    assert_eq!(reports.iter().collect::<Vec<_>>(), expected);
}
