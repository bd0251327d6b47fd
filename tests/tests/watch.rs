//! The watcher (feature `watch`): a plugin file replaced, by hand or by a
//! real cargo build, is reported by its path, once in one report, and a
//! file beside it that nobody watches is not.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mpplugin::watch::Watcher;
use mpplugin_tests::fixtures::{build, fixture};

/// Long enough for any machine; the waits return as soon as the event and
/// the quiet period are in.
const LIMIT: Duration = Duration::from_secs(120);

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("mpplugin-watch-tests-{}", std::process::id()))
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    // Events name the real path.
    dir.canonicalize().unwrap()
}

/// As a build does: a new file renamed over the old.
fn install(build: &Path, path: &Path) {
    let staged = path.with_extension("staged");
    std::fs::copy(build, &staged).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

#[test]
fn a_plugin_file_replaced_is_reported_by_its_path_and_its_neighbour_is_not() {
    let dir = scratch("replaced");
    let watched = dir.join("libwatched.so");
    let neighbour = dir.join("libneighbour.so");
    install(fixture("good"), &watched);
    let watcher = Watcher::new([&watched]).unwrap();
    install(fixture("good"), &neighbour);
    install(fixture("good-args"), &watched);
    // Renamed over, copied to beside it, touched: one path, once.
    assert_eq!(watcher.wait_timeout(LIMIT), vec![watched]);
}

/// The only test of this process that builds `fixture-reload`, whose file
/// each build with other features replaces.
#[test]
fn a_cargo_build_of_a_watched_plugin_is_reported() {
    let second = build()
        .package("fixture-reload")
        .arg("--features")
        .arg("second")
        .run()
        .unwrap();
    let library = second.library("fixture_reload").unwrap().to_owned();
    let watcher = Watcher::new([&library]).unwrap();
    build().package("fixture-reload").run().unwrap();
    let library = library
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
        .join(library.file_name().unwrap());
    assert_eq!(watcher.wait_timeout(LIMIT), vec![library]);
}
