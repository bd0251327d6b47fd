//! A folder of plugins: [`PluginLibrary::open_dir`] checks the folder as a
//! plugin's directory is checked, lists the files whose names end the
//! platform's way, and opens each one with the pipeline of `mod.rs`, one
//! result per file. This file reads the folder only: every file is opened,
//! checked and refused by `open_with`, and it holds no `unsafe` of its own.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::error::LoadError;
use super::library::PluginLibrary;
use super::options::OpenOptions;
use super::trust;

/// What [`PluginLibrary::open_dir`] found: for each library file of the
/// folder, in path order, its path and what opening it gave.
pub type OpenedDir = Vec<(PathBuf, Result<PluginLibrary, LoadError>)>;

impl PluginLibrary {
    /// Opens every plugin library in the folder `dir`: each file whose name
    /// ends the platform's way (`.so`, `.dylib` on macOS, `.dll` on Windows;
    /// [`std::env::consts::DLL_SUFFIX`]), in path order, each with its own
    /// result, as [`open`](Self::open) gives it. One file refused (not a
    /// library, truncated, not a plugin, writable by others…) never stops the
    /// others, and its [`LoadError`] names it. Other files are skipped and
    /// not reported; subfolders are not entered.
    ///
    /// ```no_run
    /// use mpplugin::PluginLibrary;
    ///
    /// // SAFETY: every library in this folder is built from source we trust,
    /// // with our toolchain and allocator.
    /// for (path, opened) in unsafe { PluginLibrary::open_dir("plugins") }? {
    ///     match opened {
    ///         Ok(library) => {
    ///             for plugin in library.plugins() {
    ///                 println!("{}: {}", path.display(), plugin.plugin_type);
    ///             }
    ///         }
    ///         Err(error) => eprintln!("skipped: {error}"),
    ///     }
    /// }
    /// # Ok::<(), mpplugin::LoadError>(())
    /// ```
    ///
    /// # Safety
    /// As [`open`](Self::open), for every library in the folder: each one's
    /// initialisers run as it is opened.
    ///
    /// # Errors
    /// Only for the folder itself: [`LoadError::WritableByOthers`] where
    /// users other than its owner and root can write to it or to a directory
    /// above it (whoever can write there can add a plugin; see [who may
    /// supply a plugin](mod@crate::load#who-may-supply-a-plugin)), and
    /// [`LoadError::Open`] where it cannot be read or is not a folder. Each
    /// file's refusal is in its own result.
    pub unsafe fn open_dir(dir: impl AsRef<Path>) -> Result<OpenedDir, LoadError> {
        // SAFETY: forwarded to the caller.
        unsafe { Self::open_dir_with(dir, &OpenOptions::new()) }
    }

    /// [`open_dir`](Self::open_dir) with options, which apply to the folder
    /// and to every file in it.
    ///
    /// # Safety
    /// As [`open_dir`](Self::open_dir).
    ///
    /// # Errors
    /// As [`open_dir`](Self::open_dir); never [`LoadError::WritableByOthers`]
    /// with [`OpenOptions::allow_writable_by_others`].
    pub unsafe fn open_dir_with(
        dir: impl AsRef<Path>,
        options: &OpenOptions,
    ) -> Result<OpenedDir, LoadError> {
        let dir = dir.as_ref();
        let cannot_read = |error: std::io::Error| LoadError::Open {
            path: dir.to_owned(),
            message: error.to_string(),
        };
        // Said here, of a folder: the permission check would say it of a
        // plugin file, with the advice to build one.
        std::fs::metadata(dir).map_err(cannot_read)?;
        if !options.allow_writable_by_others {
            trust::check_folder_writers(dir)?;
        }
        let mut found = library_files(dir).map_err(cannot_read)?;
        found.sort_unstable();
        Ok(found
            .into_iter()
            .map(|path| {
                // SAFETY: forwarded to the caller.
                let opened = unsafe { Self::open_with(&path, options) };
                (path, opened)
            })
            .collect())
    }
}

/// The paths of the entries of `dir` whose names end the platform's way,
/// folders (and links to folders) left out.
fn library_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !is_library_name(&entry.file_name()) {
            continue;
        }
        let kind = entry.file_type()?;
        let path = entry.path();
        // A link is followed to tell a folder; a broken one is the open's to
        // refuse.
        let folder = kind.is_dir()
            || (kind.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_dir()));
        if !folder {
            found.push(path);
        }
    }
    Ok(found)
}

/// Whether a file name ends the platform's way for a dynamic library.
fn is_library_name(name: &OsStr) -> bool {
    let suffix = std::env::consts::DLL_SUFFIX.as_bytes();
    let name = name.as_encoded_bytes();
    let Some(end) = name.len().checked_sub(suffix.len()).map(|at| &name[at..]) else {
        return false;
    };
    // Windows compares file names without regard to case.
    if cfg!(windows) {
        end.eq_ignore_ascii_case(suffix)
    } else {
        end == suffix
    }
}
