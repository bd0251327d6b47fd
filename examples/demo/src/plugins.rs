//! Finds the demo's plugin libraries: builds them with the cargo that runs
//! the demo, and takes their paths from what cargo reports it built. Nothing
//! is guessed, so `CARGO_TARGET_DIR` and `--release` just work.

use std::error::Error;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Builds `concat-plugin` and `debug-plugin` in the profile the demo was
/// built in, and returns their cdylibs' paths in that order.
pub(crate) fn build() -> Result<(PathBuf, PathBuf), Box<dyn Error>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            "concat-plugin",
            "-p",
            "debug-plugin",
        ])
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err("building the plugins failed (see above)".into());
    }
    let mut concat = None;
    let mut debug = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let slot = match message["target"]["name"].as_str() {
            Some("concat_plugin" | "concat-plugin") => &mut concat,
            Some("debug_plugin" | "debug-plugin") => &mut debug,
            _ => continue,
        };
        for file in message["filenames"].as_array().into_iter().flatten() {
            let file = PathBuf::from(file.as_str().unwrap_or_default());
            let extension = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if ["so", "dylib", "dll"].contains(&extension) {
                *slot = Some(file);
            }
        }
    }
    match (concat, debug) {
        (Some(concat), Some(debug)) => Ok((concat, debug)),
        _ => Err("cargo built the plugins but reported no cdylib for one of them".into()),
    }
}
