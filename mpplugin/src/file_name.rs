//! The platform's file name for a crate's dynamic library: what cargo names
//! a `cdylib`. Only names; it touches no file and runs nothing.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};

/// The file name that cargo gives the `cdylib` of crate `crate_name` on this
/// platform: `lib<name>.so` on Linux, `lib<name>.dylib` on macOS,
/// `<name>.dll` on Windows. A `-` in the name becomes `_`, as in the crate
/// name cargo derives from a package name.
///
/// ```
/// let name = mpplugin::library_file_name("concat-plugin");
/// # #[cfg(target_os = "linux")]
/// assert_eq!(name, "libconcat_plugin.so");
/// # #[cfg(target_os = "macos")]
/// # assert_eq!(name, "libconcat_plugin.dylib");
/// # #[cfg(windows)]
/// # assert_eq!(name, "concat_plugin.dll");
/// ```
///
/// Where the file is depends on the target directory and profile; to build a
/// plugin and get its path from cargo itself, see
/// `mpplugin::build` (feature `build`).
pub fn library_file_name(crate_name: &str) -> String {
    format!("{DLL_PREFIX}{}{DLL_SUFFIX}", crate_name.replace('-', "_"))
}
