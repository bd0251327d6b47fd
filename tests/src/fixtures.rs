//! Builds the fixture plugins (`tests/fixtures`, a workspace of their own) as
//! real cdylibs, once per test process, and finds them by what cargo reports
//! it built (`mpplugin::build`): no path is guessed, so `CARGO_TARGET_DIR`
//! and profiles do not matter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
