//! Scratch directories under the system's temporary directory: one per
//! test, named for this test process and the test, removed when the test
//! ends, passed or failed (the guard's drop runs as a failing test
//! unwinds). A test killed outright (the watchdog's abort) leaves its
//! directory behind; the next run of that process id clears it.

use std::fs;
use std::path::{Path, PathBuf};

/// A directory of one test's own, removed with everything in it when this
/// is dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// `mpplugin-<name>-<pid>` in the temporary directory, made empty, mode
    /// 0755 (only its owner may write to it, as the loader's trust check
    /// asks of a plugin's directory). `name` must be unique among the
    /// tests of one process: say the file and the test.
    ///
    /// # Panics
    /// If the directory cannot be made.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mpplugin-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("cannot make {}: {error}", dir.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
                .unwrap_or_else(|error| panic!("cannot chmod {}: {error}", dir.display()));
        }
        Self(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `name` in the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A test that made a file unreadable or a directory unwritable
        // inside has restored it or is run as root; either way, what cannot
        // be removed is left rather than failing a test that passed.
        let _ = fs::remove_dir_all(&self.0);
    }
}
