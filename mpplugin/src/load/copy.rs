//! The private copy a rebuilt plugin is loaded from. The dynamic loader
//! hands back the library it first loaded from a path, whatever file lies
//! there now (DESIGN fact 11); a copy at a new path, a new file, loads anew.
//! The copy sits in a directory of its own that this process creates, mode
//! 0700, below the system's temporary directory, so that no other user can
//! put anything else in its place between the copy and `dlopen`; both are
//! removed once loaded (the library stays mapped). This file copies and
//! removes files, never loads one, and holds no `unsafe`.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::LoadError;

/// A copy of a plugin file in a fresh private directory; both are removed
/// when it is dropped.
pub(super) struct PrivateCopy {
    dir: PathBuf,
    file: PathBuf,
}

impl PrivateCopy {
    /// Copies the file at `path`, which must still be the file `expected`
    /// describes (the one whose writers were checked): one opened handle is
    /// compared and read, so a file replaced in between is refused, not
    /// copied.
    pub(super) fn of(path: &Path, expected: &Metadata) -> Result<Self, LoadError> {
        if !expected.is_file() {
            // Opening a FIFO for reading would wait for a writer.
            return Err(LoadError::NotALibrary {
                path: path.to_owned(),
                reason: "it is not a regular file".to_owned(),
            });
        }
        let cannot = |error: io::Error| LoadError::cannot_open(path, &error);
        let mut source = File::open(path).map_err(cannot)?;
        let opened = source.metadata().map_err(cannot)?;
        if !same_file(expected, &opened) {
            return Err(LoadError::Open {
                path: path.to_owned(),
                message: "the file was replaced while it was being opened (a build still writing it?): open it again once the build has finished".to_owned(),
            });
        }
        let dir = private_dir().map_err(|error| LoadError::Open {
            path: path.to_owned(),
            message: format!(
                "cannot make a private directory for a copy of the rebuilt library below {}: {error}; set TMPDIR to a directory this user can write",
                std::env::temp_dir().display()
            ),
        })?;
        let name = path.file_name().unwrap_or(path.as_os_str());
        let copy = Self {
            file: dir.join(name),
            dir,
        };
        let mut target = new_private_file(&copy.file).map_err(|error| copy.failed(path, &error))?;
        io::copy(&mut source, &mut target).map_err(|error| copy.failed(path, &error))?;
        target
            .sync_all()
            .map_err(|error| copy.failed(path, &error))?;
        Ok(copy)
    }

    /// Where the copy is.
    pub(super) fn path(&self) -> &Path {
        &self.file
    }

    fn failed(&self, path: &Path, error: &io::Error) -> LoadError {
        LoadError::Open {
            path: path.to_owned(),
            message: format!(
                "cannot copy the rebuilt library to {}: {error}",
                self.file.display()
            ),
        }
    }
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        // The library, once loaded, stays mapped without its file; a copy
        // that could not be removed is left in a directory only this user
        // can read.
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Whether two looks at a path saw the same, unchanged file.
fn same_file(before: &Metadata, after: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (
            before.dev(),
            before.ino(),
            before.size(),
            before.mtime(),
            before.mtime_nsec(),
        ) == (
            after.dev(),
            after.ino(),
            after.size(),
            after.mtime(),
            after.mtime_nsec(),
        )
    }
    #[cfg(not(unix))]
    {
        before.len() == after.len() && before.modified().ok() == after.modified().ok()
    }
}

/// A new directory that only this user can enter, below the temporary
/// directory. Never one that exists already: another user could have made
/// it.
fn private_dir() -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    loop {
        let dir = base.join(format!(
            "mpplugin-reload-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // Only unix sets a mode on it.
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            // Left by an earlier process of the same id, or made by someone
            // else: take the next name.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
}

fn new_private_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o700);
    options.open(path)
}
