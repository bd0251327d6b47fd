//! Builds the fixture plugins (`tests/fixtures`, a workspace of their own) as
//! real cdylibs, once per test process, and finds them by what cargo reports
//! it built (`mpplugin::build`): no path is guessed, so `CARGO_TARGET_DIR`
//! and profiles do not matter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use mpplugin::build::Build;

/// The fixtures' workspace.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Where the fixtures are built: `fixtures/` inside the target directory of
/// the tests (or of `CARGO_TARGET_DIR`), never the tests' own build
/// directory, whose lock the running `cargo test` holds.
pub fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("fixtures")
}

/// A build of the fixtures' workspace into [`target_dir`].
pub fn build() -> Build {
    Build::new()
        .current_dir(workspace())
        .target_dir(target_dir())
}

/// Runs one build and collects the cdylibs it reports, by crate name.
fn collect(build: Build, libraries: &mut HashMap<String, PathBuf>) {
    let built = build
        .run()
        .unwrap_or_else(|error| panic!("cannot build the fixture plugins: {error}"));
    for artifact in built.artifacts() {
        if let Some(library) = &artifact.library {
            libraries.insert(artifact.crate_name.clone(), library.clone());
        }
    }
}

fn libraries() -> &'static HashMap<String, PathBuf> {
    static LIBRARIES: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    LIBRARIES.get_or_init(|| {
        let mut libraries = HashMap::new();
        collect(build(), &mut libraries);
        // Built with `panic = "abort"` for the one check about that; only this
        // crate gets the flag, as a user's release profile would give it.
        collect(
            build()
                .package("fixture-panic-abort")
                .rustc_flags(["-C", "panic=abort"]),
            &mut libraries,
        );
        // Its own workspace and lock file: older `log` and `tracing` than
        // the host's.
        collect(
            Build::new()
                .current_dir(workspace().join("old-log"))
                .target_dir(target_dir()),
            &mut libraries,
        );
        libraries
    })
}

/// The path of the cdylib of fixture crate `fixture-<name>`, built if needed.
///
/// # Panics
/// If the fixtures do not build, or there is no such fixture.
pub fn fixture(name: &str) -> &'static Path {
    let key = format!("fixture_{}", name.replace('-', "_"));
    libraries().get(&key).unwrap_or_else(|| {
        panic!(
            "no fixture plugin `{name}`; built: {:?}",
            libraries().keys()
        )
    })
}

/// The demo's plugin libraries, `(concat, debug)`: `examples/concat-plugin`
/// and `examples/debug-plugin` built as cdylibs, once per test process, by
/// the repository's workspace into [`target_dir`] (not the tests' own build
/// directory, whose lock the running `cargo test` holds).
///
/// # Panics
/// If they do not build.
pub fn demo_plugins() -> &'static (PathBuf, PathBuf) {
    static DEMO: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let built = Build::new()
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/concat-plugin"))
            .package("concat-plugin")
            .package("debug-plugin")
            .target_dir(target_dir())
            .run()
            .unwrap_or_else(|error| panic!("cannot build the demo's plugins: {error}"));
        let library = |package| {
            built
                .library(package)
                .unwrap_or_else(|error| panic!("{error}"))
                .to_owned()
        };
        (library("concat-plugin"), library("debug-plugin"))
    })
}

/// A constructor argument of the fixtures that take one (`good-args`).
pub fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| (*word).to_owned()).collect()
}

/// Asks a fixture plugin for its report (`Event::Report`) and returns it.
pub fn report<P: mpplugin::Plugin<fixture_types::Event>>(plugin: &mut P) -> String {
    let (reply, answer) = std::sync::mpsc::sync_channel(1);
    let message = mpplugin::Message::new(fixture_types::Event::Report(reply));
    assert_eq!(
        plugin.handle_message(message),
        None,
        "a report does not detach"
    );
    answer.recv().expect("the plugin replies")
}

/// Fixture `name` opened and made into a plugin for `Event`, without an
/// argument.
pub fn load_event_plugin(name: &str) -> mpplugin::LoadedPlugin<fixture_types::Event> {
    // SAFETY: the fixtures are built from this repository by the harness,
    // with the same toolchain and the system allocator.
    unsafe { mpplugin::PluginLibrary::open(fixture(name)) }
        .unwrap()
        .instantiate::<fixture_types::Event>()
        .unwrap()
}

/// How many times the `logs` fixture has formatted a message so far, from
/// its report.
pub fn formatted<P: mpplugin::Plugin<fixture_types::Event>>(plugin: &mut P) -> u64 {
    let report = report(plugin);
    report
        .strip_prefix("logs: formatted ")
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("not a report of the logs fixture: {report}"))
}

/// The `drift` fixture plugin built with `feature` of `fixture-drift-types`
/// (`None`: without features, like the host), copied to a path of its own.
///
/// Each build is a cargo invocation of its own: in one invocation cargo
/// would unify the features of every build into one. The copy is needed
/// because every build writes the same file; `drift` is not a default member
/// of the fixtures' workspace, so no other build replaces that file between
/// a build and its copy.
///
/// # Panics
/// If the build or the copy fails.
pub fn drifted(feature: Option<&str>) -> &'static Path {
    static DRIFTED: Mutex<Option<HashMap<Option<String>, &'static Path>>> = Mutex::new(None);
    built_aside(&DRIFTED, "drift", feature)
}

/// The build of fixture `shape-malformed` with feature `case` (`outside`,
/// `misaligned`, `not-utf8`, `absurd-length`, `lazy-outside-code`), copied
/// aside as [`drifted`] builds are.
pub fn malformed_shape(case: &str) -> &'static Path {
    static MALFORMED: Mutex<Option<HashMap<Option<String>, &'static Path>>> = Mutex::new(None);
    built_aside(&MALFORMED, "shape-malformed", Some(case))
}

/// The build of fixture `declaration-outside` with feature `case`
/// (`name-outside`, `version-outside`, `type-name-outside-code`), copied
/// aside as [`drifted`] builds are.
pub fn declaration_outside(case: &str) -> &'static Path {
    static BUILT: Mutex<Option<HashMap<Option<String>, &'static Path>>> = Mutex::new(None);
    built_aside(&BUILT, "declaration-outside", Some(case))
}

/// Fixture `fixture-<name>` built with `feature` in a cargo invocation of
/// its own, copied to `<name>/<feature>/` of [`target_dir`] once per test
/// process (cargo writes every build to one path).
fn built_aside(
    built: &Mutex<Option<HashMap<Option<String>, &'static Path>>>,
    name: &str,
    feature: Option<&str>,
) -> &'static Path {
    let mut built = built.lock().unwrap_or_else(PoisonError::into_inner);
    let built = built.get_or_insert_with(HashMap::new);
    let key = feature.map(str::to_owned);
    if let Some(path) = built.get(&key) {
        return path;
    }
    let package = format!("fixture-{name}");
    let mut build = build().package(&package);
    if let Some(feature) = feature {
        build = build.arg("--features").arg(feature);
    }
    let run = build
        .run()
        .unwrap_or_else(|error| panic!("cannot build fixture {name} with {feature:?}: {error}"));
    let library = run
        .library(&package)
        .unwrap_or_else(|error| panic!("fixture {name}: {error}"));
    let directory = target_dir().join(name).join(feature.unwrap_or("identical"));
    std::fs::create_dir_all(&directory)
        .unwrap_or_else(|error| panic!("cannot make fixture {name}'s directory: {error}"));
    let copy = directory.join(library.file_name().expect("a library file name"));
    // Copied to a new file beside the old one, then renamed over it: a
    // process that loaded the old one keeps it intact.
    let partial = directory.join("partial");
    std::fs::copy(library, &partial)
        .unwrap_or_else(|error| panic!("cannot copy fixture {name}: {error}"));
    std::fs::rename(&partial, &copy)
        .unwrap_or_else(|error| panic!("cannot move fixture {name} in place: {error}"));
    let copy: &'static Path = Box::leak(copy.into_boxed_path());
    built.insert(key, copy);
    copy
}

/// The first and the second build of fixture `reload` (see
/// [`reload_build`]).
pub fn reload_builds() -> (&'static Path, &'static Path) {
    (reload_build("first"), reload_build("second"))
}

/// A build of fixture `reload`, copied aside once built (cargo writes every
/// build to one path) into `reload/<build>/` of [`target_dir`], once per
/// test process: `first` (no features), `second` (it reports itself as
/// "second"), `reshaped` (the second, its state `Vec<i64>`), `stateless`
/// (the second, without `save` and `restore`).
///
/// # Panics
/// If the build fails, or there is no such build.
pub fn reload_build(name: &str) -> &'static Path {
    static BUILT: Mutex<Option<HashMap<String, &'static Path>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path;
    }
    let features = match name {
        "first" => "",
        "second" => "second",
        "reshaped" => "second,reshaped",
        "stateless" => "second,stateless",
        other => panic!("no build `{other}` of fixture-reload"),
    };
    let mut cargo = build().package("fixture-reload");
    if !features.is_empty() {
        cargo = cargo.arg("--features").arg(features);
    }
    let report = cargo
        .run()
        .unwrap_or_else(|error| panic!("cannot build fixture-reload ({name}): {error}"));
    let library = report
        .library("fixture_reload")
        .unwrap_or_else(|error| panic!("fixture-reload ({name}): {error}"));
    let dir = target_dir().join("reload").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = library.file_name().unwrap();
    // Copied then renamed: a reader never sees half a file.
    let staged = dir.join(format!("{}.{}", file.to_string_lossy(), std::process::id()));
    std::fs::copy(library, &staged).unwrap();
    let kept = dir.join(file);
    std::fs::rename(&staged, &kept).unwrap();
    let kept: &'static Path = Box::leak(kept.into_boxed_path());
    built.insert(name.to_owned(), kept);
    kept
}
