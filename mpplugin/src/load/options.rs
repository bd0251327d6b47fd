//! [`OpenOptions`]: how a library is opened, which the pipeline in `mod.rs`
//! and the folder's opening in `dir.rs` both take. Only the options: what
//! each one changes is the pipeline's.

/// How [`PluginLibrary::open_with`](super::PluginLibrary::open_with) opens a library. The default is what
/// [`PluginLibrary::open`](super::PluginLibrary::open) does.
///
/// ```no_run
/// use mpplugin::PluginLibrary;
/// use mpplugin::load::OpenOptions;
///
/// // The plugins directory is group-writable on purpose: its group is the
/// // team that deploys plugins, and the host trusts them.
/// let options = OpenOptions::new().allow_writable_by_others(true).clone();
/// // SAFETY: built from source we trust, with our toolchain and allocator.
/// let library = unsafe { PluginLibrary::open_with("/srv/plugins/libcounter.so", &options) }?;
/// let plugin = library.instantiate::<u64>()?;
/// # Ok::<(), mpplugin::LoadError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub(super) allow_writable_by_others: bool,
}

impl OpenOptions {
    /// The defaults: those of [`PluginLibrary::open`](super::PluginLibrary::open).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to load a plugin file that users other than its owner and
    /// root can write to, or that sits below a directory they can write to
    /// (default `false`: refused with [`LoadError::WritableByOthers`](super::LoadError::WritableByOthers); see
    /// [who may supply a plugin](mod@crate::load#who-may-supply-a-plugin)).
    /// Set it only when everyone who can write there is trusted with the
    /// host's rights.
    pub fn allow_writable_by_others(&mut self, allow: bool) -> &mut Self {
        self.allow_writable_by_others = allow;
        self
    }
}
