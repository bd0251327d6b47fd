//! Building plugins from a host in development (feature `build`): runs cargo
//! on plugin packages and takes their libraries' paths from what cargo
//! reports it built (`--message-format=json`), so that a host never loads a
//! stale file or guesses a target directory, profile or platform file name.
//! It runs cargo and reads its report; it loads nothing.
//!
//! A host does not depend on its plugins, so `cargo run -p host` does not
//! rebuild them: a plugin changed since the last build still loads its old
//! file, and one never built is "not found". A host in development builds
//! them first:
//!
//! ```no_run
//! use mpplugin::build::Build;
//!
//! let built = Build::new()
//!     .package("concat-plugin")
//!     .package("debug-plugin")
//!     .release(!cfg!(debug_assertions)) // the profile this host was built in
//!     .run()?;
//! let concat = built.library("concat-plugin")?; // `…/target/debug/libconcat_plugin.so`
//! // SAFETY: built just now from our own workspace, by our toolchain.
//! let plugin = unsafe { mpplugin::load::<u64>(concat) }?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A [`Build`] can be run again and again (after an edit, for a reload): each
//! run asks cargo, which rebuilds only what changed, and
//! [`Artifact::rebuilt`] says whether a library was compiled anew. A deployed
//! host has no cargo and no sources: it takes its plugins' paths from its
//! configuration, not from here.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// A cargo build of plugin packages: what to build and how. Build it up,
/// then [`run`](Build::run) it, as often as needed.
#[derive(Debug, Clone)]
pub struct Build {
    cargo: OsString,
    current_dir: Option<PathBuf>,
    manifest_path: Option<PathBuf>,
    packages: Vec<String>,
    release: bool,
    target_dir: Option<PathBuf>,
    args: Vec<OsString>,
    rustc_flags: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
}

impl Default for Build {
    fn default() -> Self {
        Self::new()
    }
}

impl Build {
    /// A `cargo build` in the current directory, in the dev profile, of the
    /// workspace's default members. The cargo run is the one in the `CARGO`
    /// environment variable (set for programs started by `cargo run`, so the
    /// same toolchain builds host and plugins), else `cargo` on the `PATH`.
    pub fn new() -> Self {
        Self {
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            current_dir: None,
            manifest_path: None,
            packages: Vec::new(),
            release: false,
            target_dir: None,
            args: Vec::new(),
            rustc_flags: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// Runs this cargo instead.
    pub fn cargo(mut self, cargo: impl AsRef<OsStr>) -> Self {
        self.cargo = cargo.as_ref().to_owned();
        self
    }

    /// Runs cargo in this directory (a package's or a workspace's): cargo
    /// finds the manifest and its configuration from there. A host can pass
    /// `env!("CARGO_MANIFEST_DIR")` to build from its own package wherever
    /// it is started.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.current_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Builds with this manifest (`--manifest-path`).
    pub fn manifest_path(mut self, path: impl AsRef<Path>) -> Self {
        self.manifest_path = Some(path.as_ref().to_owned());
        self
    }

    /// Builds this package (`-p`); call it once per package. Without any,
    /// cargo builds what it would build in the directory.
    pub fn package(mut self, name: impl Into<String>) -> Self {
        self.packages.push(name.into());
        self
    }

    /// Builds in the release profile (`--release`) if `release` is true.
    /// `.release(!cfg!(debug_assertions))` follows the host's own profile.
    pub fn release(mut self, release: bool) -> Self {
        self.release = release;
        self
    }

    /// Builds into this target directory (`--target-dir`) instead of the
    /// workspace's. A program that cargo itself is building or testing holds
    /// the lock of its own target directory: build into another one there.
    pub fn target_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.target_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Passes one more argument to cargo (`--features`, `--locked`,
    /// `--offline`...).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Sets an environment variable for cargo and the builds it runs.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Passes these flags to rustc for the library of the one selected
    /// package only (`cargo rustc --lib -- <flags>`), as a profile setting
    /// would, without touching its dependencies: `["-C", "panic=abort"]`.
    pub fn rustc_flags<I, S>(mut self, flags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.rustc_flags
            .extend(flags.into_iter().map(|flag| flag.as_ref().to_owned()));
        self
    }

    /// The cargo command line this build runs, for messages.
    fn command_line(&self) -> String {
        let mut words = vec![Path::new(&self.cargo).display().to_string()];
        words.extend(self.arguments(false).iter().map(|arg| {
            let arg = arg.to_string_lossy();
            if arg.contains(' ') {
                format!("'{arg}'")
            } else {
                arg.into_owned()
            }
        }));
        words.join(" ")
    }

    /// Cargo's arguments; with `report`, those that make it report in JSON
    /// and print nothing but errors.
    fn arguments(&self, report: bool) -> Vec<OsString> {
        let mut arguments: Vec<OsString> = Vec::new();
        if self.rustc_flags.is_empty() {
            arguments.push("build".into());
        } else {
            arguments.extend(["rustc".into(), "--lib".into()]);
        }
        if report {
            arguments.extend(["--quiet".into(), "--message-format=json".into()]);
        }
        if let Some(manifest) = &self.manifest_path {
            arguments.extend(["--manifest-path".into(), manifest.into()]);
        }
        for package in &self.packages {
            arguments.extend(["-p".into(), package.into()]);
        }
        if self.release {
            arguments.push("--release".into());
        }
        if let Some(dir) = &self.target_dir {
            arguments.extend(["--target-dir".into(), dir.into()]);
        }
        arguments.extend(self.args.iter().cloned());
        if !self.rustc_flags.is_empty() {
            arguments.push("--".into());
            arguments.extend(self.rustc_flags.iter().cloned());
        }
        arguments
    }

    /// Runs cargo, waits for it, and returns what it built. Cargo rebuilds
    /// only what changed since the last run, so a run with nothing to do
    /// costs about as long as cargo takes to check its fingerprints.
    ///
    /// # Errors
    /// [`BuildError::Cargo`] if cargo cannot be started;
    /// [`BuildError::Failed`] with cargo's and rustc's diagnostics if the
    /// build fails.
    pub fn run(&self) -> Result<Built, BuildError> {
        let mut command = Command::new(&self.cargo);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command
            .args(self.arguments(true))
            .envs(self.envs.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null());
        let output = command.output().map_err(|error| BuildError::Cargo {
            cargo: PathBuf::from(&self.cargo),
            not_found: error.kind() == io::ErrorKind::NotFound,
            message: error.to_string(),
        })?;
        let report = Report::read(&String::from_utf8_lossy(&output.stdout));
        if !output.status.success() {
            let mut diagnostics = report.diagnostics;
            let cargo_said = String::from_utf8_lossy(&output.stderr);
            diagnostics.push_str(cargo_said.trim_end());
            return Err(BuildError::Failed {
                command: self.command_line(),
                diagnostics: diagnostics.trim_end().to_owned(),
            });
        }
        Ok(Built {
            artifacts: report.artifacts,
            warnings: report.diagnostics.trim_end().to_owned(),
        })
    }
}

/// What one run of cargo built.
#[derive(Debug, Clone)]
pub struct Built {
    artifacts: Vec<Artifact>,
    warnings: String,
}

impl Built {
    /// The path of the `cdylib` of crate `name` (a package name, or its
    /// crate name with `_` for `-`), as cargo reported it: the file a host
    /// loads.
    ///
    /// # Errors
    /// [`BuildError::NotACdylib`] if cargo built the crate but no `cdylib`
    /// of it; [`BuildError::NotBuilt`] if this run did not build it at all.
    pub fn library(&self, name: &str) -> Result<&Path, BuildError> {
        let crate_name = name.replace('-', "_");
        let mut built = self
            .artifacts
            .iter()
            .filter(|artifact| artifact.crate_name == crate_name)
            .peekable();
        if built.peek().is_none() {
            return Err(BuildError::NotBuilt {
                name: name.to_owned(),
                built: self
                    .artifacts
                    .iter()
                    .map(|artifact| artifact.crate_name.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            });
        }
        let mut kinds = Vec::new();
        for artifact in built {
            if let Some(library) = &artifact.library {
                return Ok(library);
            }
            kinds.extend(artifact.kinds.iter().cloned());
        }
        Err(BuildError::NotACdylib {
            name: name.to_owned(),
            kinds,
        })
    }

    /// Every library target cargo reported, whether or not it is a
    /// `cdylib`, in the order cargo finished them.
    pub fn artifacts(&self) -> &[Artifact] {
        &self.artifacts
    }

    /// The warnings rustc gave while building, rendered as cargo would have
    /// printed them; empty if there were none or nothing was compiled.
    pub fn warnings(&self) -> &str {
        &self.warnings
    }
}

/// One library target that cargo reported building (or finding up to date).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Artifact {
    /// The crate's name, with `_` for `-`: `concat_plugin`.
    pub crate_name: String,
    /// The crate types it was built as: `cdylib`, `rlib`, `lib`...
    pub kinds: Vec<String>,
    /// The dynamic library a host loads, if it was built as a `cdylib`.
    pub library: Option<PathBuf>,
    /// Whether this run compiled it; false if it was up to date.
    pub rebuilt: bool,
}

/// Why a [`Build`] gave no library. Its `Display` (and its `Debug`, which
/// `?` in `main` prints) says what happened and what to do.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Cargo could not be started.
    Cargo {
        /// The program that was run.
        cargo: PathBuf,
        /// Whether it was not found at all.
        not_found: bool,
        /// What the operating system said.
        message: String,
    },
    /// Cargo ran and the build failed.
    Failed {
        /// The command that failed.
        command: String,
        /// What rustc and cargo said, as cargo prints it.
        diagnostics: String,
    },
    /// Cargo built the crate, but not as a `cdylib`.
    NotACdylib {
        /// The name asked for.
        name: String,
        /// What it was built as.
        kinds: Vec<String>,
    },
    /// This run did not build the crate asked for.
    NotBuilt {
        /// The name asked for.
        name: String,
        /// The crates it built, by crate name.
        built: Vec<String>,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cargo {
                cargo,
                not_found: true,
                ..
            } => write!(
                f,
                "cannot build the plugins: cargo (`{}`) was not found: install Rust \
                 (https://rustup.rs), or set the environment variable `CARGO` to cargo's path",
                cargo.display()
            ),
            Self::Cargo { cargo, message, .. } => write!(
                f,
                "cannot build the plugins: running cargo (`{}`) failed: {message}",
                cargo.display()
            ),
            Self::Failed {
                command,
                diagnostics,
            } => write!(
                f,
                "building the plugins failed: `{command}` said:\n{diagnostics}"
            ),
            Self::NotACdylib { name, kinds } => write!(
                f,
                "`{name}` was built as {}, not as a `cdylib` that a host can load: add \
                 `crate-type = [\"cdylib\", \"rlib\"]` to the `[lib]` section of its Cargo.toml \
                 (\"rlib\" keeps it an ordinary library too)",
                kinds.join(" and ")
            ),
            Self::NotBuilt { name, built } => {
                write!(f, "cargo did not build `{name}` in this run")?;
                if built.is_empty() {
                    write!(f, " (it built no library)")?;
                } else {
                    write!(f, " (it built {})", built.join(", "))?;
                }
                write!(
                    f,
                    ": select its package with `Build::package(\"{name}\")`, or check the name"
                )
            }
        }
    }
}

/// The sentence of `Display`, so that `?` in `main` shows it; `{:#?}` shows
/// the fields.
impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
        match self {
            Self::Cargo {
                cargo,
                not_found,
                message,
            } => f
                .debug_struct("Cargo")
                .field("cargo", cargo)
                .field("not_found", not_found)
                .field("message", message)
                .finish(),
            Self::Failed {
                command,
                diagnostics,
            } => f
                .debug_struct("Failed")
                .field("command", command)
                .field("diagnostics", diagnostics)
                .finish(),
            Self::NotACdylib { name, kinds } => f
                .debug_struct("NotACdylib")
                .field("name", name)
                .field("kinds", kinds)
                .finish(),
            Self::NotBuilt { name, built } => f
                .debug_struct("NotBuilt")
                .field("name", name)
                .field("built", built)
                .finish(),
        }
    }
}

impl std::error::Error for BuildError {}

/// What cargo's JSON messages say: the library targets built and the
/// compiler's diagnostics, rendered.
struct Report {
    artifacts: Vec<Artifact>,
    diagnostics: String,
}

impl Report {
    fn read(stdout: &str) -> Self {
        let mut report = Self {
            artifacts: Vec::new(),
            diagnostics: String::new(),
        };
        // Lines that are not JSON are a build script's or a proc macro's
        // own output: not cargo's report.
        for message in stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        {
            match message["reason"].as_str() {
                Some("compiler-artifact") => report.artifact(&message),
                Some("compiler-message") => {
                    if let Some(rendered) = message["message"]["rendered"].as_str() {
                        report.diagnostics.push_str(rendered);
                    }
                }
                _ => {}
            }
        }
        report
    }

    fn artifact(&mut self, message: &Value) {
        let strings = |value: &Value| -> Vec<String> {
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        };
        let kinds = strings(&message["target"]["kind"]);
        let library_kinds = ["lib", "rlib", "dylib", "cdylib", "staticlib"];
        if !kinds
            .iter()
            .any(|kind| library_kinds.contains(&kind.as_str()))
        {
            return; // a binary, a build script, a proc macro
        }
        let library = kinds
            .iter()
            .any(|kind| kind == "cdylib")
            .then(|| {
                strings(&message["filenames"])
                    .into_iter()
                    .map(PathBuf::from)
                    .find(|file| {
                        file.file_name()
                            .and_then(OsStr::to_str)
                            .is_some_and(|name| name.ends_with(std::env::consts::DLL_SUFFIX))
                    })
            })
            .flatten();
        self.artifacts.push(Artifact {
            crate_name: message["target"]["name"]
                .as_str()
                .unwrap_or_default()
                .replace('-', "_"),
            kinds,
            library,
            rebuilt: message["fresh"] == false,
        });
    }
}
