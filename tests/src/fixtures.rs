//! Builds the fixture plugins (`tests/fixtures`, a workspace of their own) as
//! real cdylibs, once per test process, and finds them by what cargo reports
//! it built: no path is guessed, so `CARGO_TARGET_DIR` and profiles do not
//! matter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

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

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(workspace())
        .arg("--quiet")
        .stderr(Stdio::inherit());
    command
}

/// Runs one cargo build and collects the cdylibs it reports, by crate name.
/// `rustc_flags` go to rustc for the selected crate only (`cargo rustc`).
fn build(arguments: &[&str], rustc_flags: &[&str], libraries: &mut HashMap<String, PathBuf>) {
    let mut command = cargo();
    command
        .args(arguments)
        .arg("--message-format=json-render-diagnostics")
        .arg("--target-dir")
        .arg(target_dir());
    if !rustc_flags.is_empty() {
        command.arg("--").args(rustc_flags);
    }
    let output = command
        .output()
        .expect("cannot run cargo to build the fixture plugins");
    assert!(
        output.status.success(),
        "building the fixture plugins failed (see above)"
    );
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds = message["target"]["kind"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !kinds.iter().any(|kind| kind == "cdylib") {
            continue;
        }
        let name = message["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .replace('-', "_");
        for file in message["filenames"].as_array().into_iter().flatten() {
            let file = PathBuf::from(file.as_str().unwrap_or_default());
            let extension = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if ["so", "dylib", "dll"].contains(&extension) {
                libraries.insert(name.clone(), file);
            }
        }
    }
}

fn libraries() -> &'static HashMap<String, PathBuf> {
    static LIBRARIES: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    LIBRARIES.get_or_init(|| {
        let mut libraries = HashMap::new();
        build(&["build"], &[], &mut libraries);
        // Built with `panic = "abort"` for the one check about that; only this
        // crate gets the flag, as a user's release profile would give it.
        build(
            &["rustc", "-p", "fixture-panic-abort", "--lib"],
            &["-C", "panic=abort"],
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
