//! Finds the demo's plugin libraries: builds them with the cargo that runs
//! the demo (`mpplugin::build`), and takes their paths from what cargo
//! reports it built. Nothing is guessed, so `CARGO_TARGET_DIR` and
//! `--release` just work.

use std::error::Error;
use std::path::PathBuf;

use mpplugin::build::Build;

/// Builds `concat-plugin` and `debug-plugin` in the profile the demo was
/// built in, and returns their cdylibs' paths in that order.
pub(crate) fn build() -> Result<(PathBuf, PathBuf), Box<dyn Error>> {
    let built = Build::new()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .package("concat-plugin")
        .package("debug-plugin")
        .release(!cfg!(debug_assertions))
        .run()?;
    if !built.warnings().is_empty() {
        eprintln!("{}", built.warnings());
    }
    Ok((
        built.library("concat-plugin")?.to_owned(),
        built.library("debug-plugin")?.to_owned(),
    ))
}
