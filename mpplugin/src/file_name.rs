//! The platform's file name for a crate's dynamic library: what cargo names
//! a `cdylib`, and back from a file name to the crate's. Only names; it
//! touches no file and runs nothing.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::path::Path;

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

/// The crate name that a library file's name says, if it is named as cargo
/// names a crate's `cdylib` on this platform, or its `rlib`:
/// `…/libconcat_plugin.so` and `…/libconcat_plugin.rlib` give `concat_plugin`.
pub(crate) fn crate_name_of(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let name = match file.strip_suffix(".rlib") {
        Some(stem) => stem.strip_prefix("lib")?,
        None => file.strip_suffix(DLL_SUFFIX)?.strip_prefix(DLL_PREFIX)?,
    };
    let is_crate_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_crate_name.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_file_name_gives_back_its_crate_name() {
        let file = library_file_name("concat-plugin");
        assert_eq!(
            crate_name_of(&Path::new("target/debug").join(file)).as_deref(),
            Some("concat_plugin")
        );
        assert_eq!(
            crate_name_of(Path::new("libconcat_plugin.rlib")).as_deref(),
            Some("concat_plugin")
        );
        assert_eq!(crate_name_of(Path::new("target/debug/demo")), None);
        assert_eq!(crate_name_of(Path::new("lib.rlib")), None);
        assert_eq!(crate_name_of(Path::new("libmy plugin.rlib")), None);
    }
}
