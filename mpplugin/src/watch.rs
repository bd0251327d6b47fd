//! Noticing rebuilt plugin files (feature `watch`): a [`Watcher`] listens
//! to the operating system's file events (the `notify` crate) in the
//! directories of the files it was given, and reports which of those files
//! changed, once per build: events that come in a burst (a build removes,
//! links and touches a file) are gathered until the directory has been
//! quiet for a while. It reloads nothing: the host's owner decides when to
//! open the files again and `replace` their plugins. It holds no `unsafe`.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher as _};

/// How long the files' directories must stay quiet before a change is
/// reported, by default: long enough for cargo's last steps after the
/// linker (it links the library into place, then touches fingerprints).
pub const DEFAULT_QUIET: Duration = Duration::from_millis(300);

/// Reports which of a set of plugin files were replaced or changed.
///
/// ```no_run
/// use mpplugin::watch::Watcher;
///
/// let path = "target/debug/libcounter.so";
/// let watcher = Watcher::new([path])?;
/// for changed in watcher.iter() {
///     // One build is one report: open the files again and `replace`.
///     println!("rebuilt: {changed:?}");
/// }
/// # Ok::<(), mpplugin::watch::WatchError>(())
/// ```
///
/// The directories are watched, not the files: a build replaces a file
/// (a new inode), which a watch on the old file would not see. A file that
/// does not exist yet is reported once it is created.
pub struct Watcher {
    // Kept for its thread; dropping it stops the events.
    _watcher: notify::RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    files: HashSet<PathBuf>,
    quiet: Duration,
}

/// Why a [`Watcher`] could not watch a file.
#[derive(Debug)]
pub struct WatchError {
    path: PathBuf,
    error: notify::Error,
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot watch {} for rebuilds: {} (its directory must exist and be readable)",
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for WatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl Watcher {
    /// Watches `files` (the plugin files a host loaded), with
    /// [`DEFAULT_QUIET`].
    ///
    /// # Errors
    /// [`WatchError`] when a file's directory cannot be watched.
    pub fn new<P: AsRef<Path>>(files: impl IntoIterator<Item = P>) -> Result<Self, WatchError> {
        Self::with_quiet(files, DEFAULT_QUIET)
    }

    /// Watches `files`, reporting a change once their directories have
    /// been quiet for `quiet`.
    ///
    /// # Errors
    /// [`WatchError`] when a file's directory cannot be watched.
    pub fn with_quiet<P: AsRef<Path>>(
        files: impl IntoIterator<Item = P>,
        quiet: Duration,
    ) -> Result<Self, WatchError> {
        let (sender, events) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            // The watcher outlives no receiver that matters.
            let _ = sender.send(event);
        })
        .map_err(|error| WatchError {
            path: PathBuf::new(),
            error,
        })?;
        let mut watched = HashSet::new();
        let mut set = HashSet::new();
        for file in files {
            let file = absolute(file.as_ref());
            let dir = file
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_owned);
            if watched.insert(dir.clone()) {
                watcher
                    .watch(&dir, RecursiveMode::NonRecursive)
                    .map_err(|error| WatchError {
                        path: file.clone(),
                        error,
                    })?;
            }
            set.insert(file);
        }
        Ok(Self {
            _watcher: watcher,
            events,
            files: set,
            quiet,
        })
    }

    /// Waits for a change, then for the quiet period after the last event,
    /// and returns the files that changed, each once, in path order.
    pub fn wait(&self) -> Vec<PathBuf> {
        loop {
            let Ok(event) = self.events.recv() else {
                return Vec::new();
            };
            let mut changed = BTreeSet::new();
            self.note(event, &mut changed);
            if !changed.is_empty() {
                return self.settle(changed);
            }
        }
    }

    /// [`wait`](Self::wait), for at most `timeout` until the first change;
    /// empty if none came.
    pub fn wait_timeout(&self, timeout: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = match self.events.recv_timeout(left) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Vec::new();
                }
            };
            let mut changed = BTreeSet::new();
            self.note(event, &mut changed);
            if !changed.is_empty() {
                return self.settle(changed);
            }
        }
    }

    /// The changes, one report per build, as an endless iterator.
    pub fn iter(&self) -> impl Iterator<Item = Vec<PathBuf>> + '_ {
        std::iter::from_fn(|| {
            let changed = self.wait();
            (!changed.is_empty()).then_some(changed)
        })
    }

    /// Gathers events until none comes for the quiet period.
    fn settle(&self, mut changed: BTreeSet<PathBuf>) -> Vec<PathBuf> {
        while let Ok(event) = self.events.recv_timeout(self.quiet) {
            self.note(event, &mut changed);
        }
        changed.into_iter().collect()
    }

    fn note(&self, event: notify::Result<notify::Event>, changed: &mut BTreeSet<PathBuf>) {
        let Ok(event) = event else {
            return;
        };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            let path = absolute(&path);
            if self.files.contains(&path) {
                changed.insert(path);
            }
        }
    }
}

/// `path` made absolute against the current directory, its directory's
/// symbolic links resolved where it exists (events name the real path).
fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => dir
            .canonicalize()
            .map_or_else(|_| path.clone(), |dir| dir.join(name)),
        _ => path,
    }
}
