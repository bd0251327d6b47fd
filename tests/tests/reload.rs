//! Reloading: a plugin file rebuilt at a path already loaded is loaded anew
//! (from a private copy), with every check; the two builds are real builds
//! of fixture `reload`, the second changed (feature `second`).

use std::path::{Path, PathBuf};

use fixture_types::Event;
use mpplugin::{LoadError, LoadedPlugin, PluginLibrary};
use mpplugin_tests::fixtures::{reload_builds, report};

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test.
    unsafe { PluginLibrary::open(path) }
}

/// A directory of this test process's own, for the test named `test`.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("mpplugin-reload-tests-{}", std::process::id()))
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Puts `build` at `path` as a build does: a new file renamed over the old.
fn install(build: &Path, path: &Path) {
    let staged = path.with_extension("staged");
    std::fs::copy(build, &staged).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

fn tally(library: &PluginLibrary) -> LoadedPlugin<Event> {
    library.instantiate::<Event>().unwrap()
}

/// Which build a plugin is, and what it has seen: "first: " or "second: ".
fn which(plugin: &mut LoadedPlugin<Event>) -> String {
    report(plugin)
}

/// The distinct files mapped into this process whose path contains `name`.
fn mapped(name: &str) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut files: Vec<&str> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5).map(|_| line))
        .map(|line| line[line.find('/').unwrap_or(line.len())..].trim())
        .filter(|path| path.contains(name))
        .collect();
    files.sort_unstable();
    files.dedup();
    files.len()
}

#[test]
fn an_unchanged_path_returns_the_library_already_loaded() {
    let (first, _) = reload_builds();
    let path = scratch("unchanged").join("libunchanged_tally.so");
    install(first, &path);
    let library = open(&path).unwrap();
    assert_eq!(mapped("libunchanged_tally.so"), 1);
    // Unreadable now, but unchanged: the library loaded is returned without
    // the file being read again, let alone copied.
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o000);
    std::fs::set_permissions(&path, permissions).unwrap();
    let again = open(&path).unwrap();
    assert_eq!(mapped("libunchanged_tally.so"), 1);
    assert_eq!(which(&mut tally(&again)), "first: ");
    assert_eq!(which(&mut tally(&library)), "first: ");
}

#[test]
fn a_rebuilt_file_at_a_loaded_path_loads_the_new_build_and_the_old_one_runs_on() {
    let (first, second) = reload_builds();
    let path = scratch("rebuilt").join("librebuilt_tally.so");
    install(first, &path);
    let mut old = tally(&open(&path).unwrap());
    mpplugin::Plugin::handle_message(&mut old, Event::Add(1).into());
    install(second, &path);
    let library = open(&path).unwrap();
    assert_eq!(library.info().path, path, "reported as the path given");
    let mut new = tally(&library);
    assert_eq!(which(&mut new), "second: ");
    assert_eq!(which(&mut old), "first: 1", "the old build stays loaded");
    // Two libraries mapped, the copy's file already removed.
    assert_eq!(mapped("librebuilt_tally.so"), 2);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let copy = maps
        .lines()
        .find(|line| line.contains("librebuilt_tally.so") && !line.contains(path.to_str().unwrap()))
        .expect("the copy is mapped");
    assert!(copy.ends_with("(deleted)"), "{copy}");
    // Unchanged since: the new build, not another copy.
    assert_eq!(which(&mut tally(&open(&path).unwrap())), "second: ");
    assert_eq!(mapped("librebuilt_tally.so"), 2);
}

#[test]
fn a_rebuilt_file_that_others_can_write_to_is_refused() {
    let (first, second) = reload_builds();
    let path = scratch("writable").join("libwritable_tally.so");
    install(first, &path);
    open(&path).unwrap();
    let staged = path.with_extension("staged");
    std::fs::copy(second, &staged).unwrap();
    let mut permissions = std::fs::metadata(&staged).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o666);
    std::fs::set_permissions(&staged, permissions.clone()).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    match open(&path) {
        Err(LoadError::WritableByOthers {
            path: reported,
            writable,
            ..
        }) => {
            assert_eq!(reported, path);
            assert_eq!(writable, path);
        }
        Err(other) => panic!("expected WritableByOthers, got {other}"),
        Ok(library) => panic!("loaded {}", which(&mut tally(&library))),
    }
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o644);
    std::fs::set_permissions(&path, permissions).unwrap();
    assert_eq!(which(&mut tally(&open(&path).unwrap())), "second: ");
}

#[test]
fn a_rebuilt_file_cut_short_is_refused_at_the_path_given() {
    let (first, second) = reload_builds();
    let path = scratch("truncated").join("libtruncated_tally.so");
    install(first, &path);
    open(&path).unwrap();
    let staged = path.with_extension("staged");
    let bytes = std::fs::read(second).unwrap();
    std::fs::write(&staged, &bytes[..4096]).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    match open(&path) {
        Err(LoadError::NotALibrary { path: reported, .. }) => assert_eq!(reported, path),
        Err(other) => panic!("expected NotALibrary, got {other}"),
        Ok(_) => panic!("a truncated file was loaded"),
    }
}

#[test]
fn a_hundred_reloads_in_one_process_each_load_the_build_at_the_path() {
    let builds = reload_builds();
    let path = scratch("hundred").join("libhundred_tally.so");
    let mut plugins = Vec::new();
    for round in 0..100 {
        let (build, name) = if round % 2 == 0 {
            (builds.0, "first")
        } else {
            (builds.1, "second")
        };
        install(build, &path);
        let mut plugin = tally(&open(&path).unwrap());
        mpplugin::Plugin::handle_message(&mut plugin, Event::Add(round).into());
        assert_eq!(which(&mut plugin), format!("{name}: {round}"));
        plugins.push((name, round, plugin));
    }
    assert_eq!(mapped("libhundred_tally.so"), 100);
    for (name, round, mut plugin) in plugins {
        assert_eq!(which(&mut plugin), format!("{name}: {round}"));
    }
}
