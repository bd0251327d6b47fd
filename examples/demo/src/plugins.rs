//! Finds the demo's plugin folder: builds the plugins with the cargo that
//! runs the demo (`mpplugin::build`), and takes the folder they are in from
//! what cargo reports it built. Nothing is guessed, so `CARGO_TARGET_DIR`
//! and `--release` just work.

use std::error::Error;
use std::path::{Path, PathBuf};

use mpplugin::build::Build;

/// Builds `concat-plugin` and `debug-plugin` in the profile the demo was
/// built in, and returns the folder cargo put their cdylibs in.
pub(crate) fn build() -> Result<PathBuf, Box<dyn Error>> {
    let built = Build::new()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .package("concat-plugin")
        .package("debug-plugin")
        .release(!cfg!(debug_assertions))
        .run()?;
    if !built.warnings().is_empty() {
        eprintln!("{}", built.warnings());
    }
    let folder = |package| {
        built
            .library(package)
            .map(|library| library.parent().unwrap_or(Path::new(".")).to_owned())
    };
    let concat = folder("concat-plugin")?;
    let debug = folder("debug-plugin")?;
    if concat != debug {
        return Err(format!(
            "cargo built the plugins into two folders, {} and {}",
            concat.display(),
            debug.display()
        )
        .into());
    }
    Ok(concat)
}
