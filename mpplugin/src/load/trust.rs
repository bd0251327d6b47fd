//! Who may write the plugin file and every directory on the way to it: the
//! first stage of an open (see [who may supply a
//! plugin](mod@crate::load#who-may-supply-a-plugin)). The walk resolves the
//! path one component at a time, as the kernel does, and keeps the metadata
//! of everything it reached; `accounts.rs` says who is in a group that can
//! write there. This file reads metadata and symbolic links only: it never
//! opens the plugin file, and it holds no `unsafe`.

#[cfg(unix)]
use std::ops::Range;
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;

#[cfg(unix)]
use super::accounts::Accounts;
use super::error::LoadError;

/// Refuses a plugin file that users other than its owner and root could
/// replace: see [who may supply a plugin](mod@crate::load#who-may-supply-a-plugin).
/// Returns the metadata of the file `path` names, read on the way.
#[cfg(unix)]
pub(super) fn check_writers(path: &Path) -> Result<std::fs::Metadata, LoadError> {
    check_entry(path, std::fs::Metadata::is_file, LoadError::cannot_open)
}

/// Refuses a folder of plugins that users other than its owner and root
/// could write to, or that sits below such a directory, as
/// [`check_writers`] refuses a plugin's directory: whoever can write there
/// can add a plugin. Returns the folder's metadata, read on the way.
#[cfg(unix)]
pub(super) fn check_folder_writers(path: &Path) -> Result<std::fs::Metadata, LoadError> {
    check_entry(
        path,
        std::fs::Metadata::is_dir,
        LoadError::cannot_open_folder,
    )
}

/// The walk and the checks of `path`, if what it names is of the kind
/// `checked` accepts (anything else is left to the caller to refuse).
#[cfg(unix)]
fn check_entry(
    path: &Path,
    checked: fn(&std::fs::Metadata) -> bool,
    cannot_open: fn(&Path, &std::io::Error) -> LoadError,
) -> Result<std::fs::Metadata, LoadError> {
    use std::os::unix::fs::MetadataExt;

    // The walk resolves the path as `canonicalize` does, so it fails where
    // that fails, and the error is said as that says it.
    let walk = Walk::of(path)
        .map_err(|error| cannot_open(path, &std::fs::canonicalize(path).err().unwrap_or(error)))?;
    let file = walk.file();
    if !checked(file) {
        // Not a library (or a folder) either: the caller says so, more
        // usefully.
        return Ok(file.clone());
    }
    let mut accounts = None;
    let mut check = |checked: &Path, metadata: &std::fs::Metadata| {
        let mode = metadata.mode();
        // In a sticky directory only an entry's owner, the directory's owner
        // and root can rename or remove the entry.
        if metadata.is_dir() && mode & 0o1000 != 0 {
            return Ok(());
        }
        let everyone = mode & 0o002 != 0;
        let mut group = None;
        let mut group_members = Vec::new();
        if mode & 0o020 != 0 {
            let accounts = accounts.get_or_insert_with(Accounts::current);
            if let Some(members) = accounts.other_members(metadata.gid(), metadata.uid()) {
                group = Some(accounts.group_name(metadata.gid()));
                group_members = members;
            }
        }
        if everyone || group.is_some() {
            return Err(LoadError::WritableByOthers {
                path: path.to_owned(),
                writable: checked.to_owned(),
                mode,
                group,
                group_members,
                everyone,
            });
        }
        Ok(())
    };
    // A path and each leading part of it, with their metadata (`/` first).
    let mut check_all = |path: &Path, reached: &[std::fs::Metadata]| {
        (path.ancestors().zip(reached.iter().rev()))
            .try_for_each(|(checked, metadata)| check(checked, metadata))
    };
    // The file, then each directory above it, up to `/`.
    check_all(&walk.canonical, &walk.reached)?;
    // The directories of the path as given hold its symbolic links, if any,
    // and whoever can write there can point them elsewhere. (Its last part
    // is the file again, which passed above.)
    if walk.given != walk.canonical {
        check_all(&walk.given, &walk.given_reached)?;
    }
    // The directories holding the links followed, and each one above them:
    // those of links met along the way are in neither path.
    for (directory, reached) in &walk.linked {
        check_all(directory, reached)?;
    }
    Ok(file.clone())
}

#[cfg(not(unix))]
pub(super) fn check_writers(path: &Path) -> Result<std::fs::Metadata, LoadError> {
    std::fs::metadata(path).map_err(|error| LoadError::cannot_open(path, &error))
}

#[cfg(not(unix))]
pub(super) fn check_folder_writers(path: &Path) -> Result<std::fs::Metadata, LoadError> {
    std::fs::metadata(path).map_err(|error| LoadError::cannot_open_folder(path, &error))
}

/// A path resolved as the kernel resolves it (and `canonicalize`), one
/// component at a time, keeping the metadata of every directory it reached:
/// resolving costs one `lstat` per component, where `canonicalize` and then
/// a `stat` of each ancestor cost two, and the checks need no second look.
#[cfg(unix)]
struct Walk {
    /// The path as given, made absolute as `std::path::absolute` makes it.
    given: PathBuf,
    /// What it resolves to: what `std::fs::canonicalize` returns.
    canonical: PathBuf,
    /// The metadata of each leading part of `canonical`: `/` first, the
    /// file last.
    reached: Vec<std::fs::Metadata>,
    /// The metadata of what each leading part of `given` resolves to: `/`
    /// first, then one per component.
    given_reached: Vec<std::fs::Metadata>,
    /// Each directory that held a symbolic link the walk followed, resolved,
    /// with the metadata of every leading part of it, `/` first: whoever can
    /// write there can point the link, and so the walk, elsewhere. Links met
    /// along the way, in the target of another link, are in neither `given`
    /// nor `canonical`.
    linked: Vec<(PathBuf, Vec<std::fs::Metadata>)>,
}

/// One step of a [`Walk`].
#[cfg(unix)]
enum Step {
    /// Into the entry of the directory reached named by bytes `name` of the
    /// path as given (`link` is `None`) or of the target of link number
    /// `link`.
    Enter {
        link: Option<usize>,
        name: Range<usize>,
    },
    /// Up to the parent of the directory reached (`..`).
    Leave,
    /// Nowhere, but what is reached must be a directory (`.`, a trailing
    /// `/`).
    Stay,
    /// A leading part of the path as given ends here.
    Given,
}

#[cfg(unix)]
impl Walk {
    /// The most symbolic links one resolution follows, as Linux and glibc
    /// count.
    const MAX_LINKS: usize = 40;

    fn of(path: &Path) -> std::io::Result<Self> {
        use std::io::{Error, ErrorKind};
        use std::os::unix::ffi::{OsStrExt, OsStringExt};

        let given = std::path::absolute(path)?;
        let given_text = given.as_os_str().as_bytes();
        // The targets of the links followed.
        let mut targets: Vec<Vec<u8>> = Vec::new();
        // A stack: the next step last.
        let mut steps = Vec::with_capacity(2 * given_text.len().min(64) + 1);
        // `absolute` drops a final `.`, which still asks for a directory.
        let raw = path.as_os_str().as_bytes();
        if raw.ends_with(b"/") || raw.ends_with(b"/.") || raw == b"." {
            steps.push(Step::Stay);
        }
        push_steps(&mut steps, given_text, None);
        let mut resolved = PathBuf::with_capacity(given_text.len());
        resolved.push("/");
        let root = std::fs::symlink_metadata(&resolved)?;
        let mut reached = Vec::with_capacity(steps.len() / 2 + 1);
        reached.push(root.clone());
        let mut given_reached = Vec::with_capacity(steps.len() / 2 + 1);
        given_reached.push(root.clone());
        let mut links = 0;
        let mut linked = Vec::new();
        while let Some(step) = steps.pop() {
            let here = reached.last().unwrap_or(&root);
            if let Step::Given = step {
                given_reached.push(here.clone());
                continue;
            }
            // Only a directory has entries, `.` and `..` included.
            if !here.is_dir() {
                return Err(Error::from(ErrorKind::NotADirectory));
            }
            let (link, name) = match step {
                Step::Enter { link, name } => (link, name),
                Step::Leave => {
                    if resolved.pop() {
                        reached.pop();
                    }
                    continue;
                }
                Step::Stay | Step::Given => continue,
            };
            let text = match link {
                None => given_text,
                Some(link) => &targets[link],
            };
            resolved.push(std::ffi::OsStr::from_bytes(&text[name]));
            let metadata = std::fs::symlink_metadata(&resolved)?;
            if !metadata.is_symlink() {
                reached.push(metadata);
                continue;
            }
            links += 1;
            if links > Self::MAX_LINKS {
                return Err(Error::other("too many levels of symbolic links"));
            }
            let target = std::fs::read_link(&resolved)?.into_os_string().into_vec();
            resolved.pop();
            linked.push((resolved.clone(), reached.clone()));
            if target.is_empty() {
                return Err(Error::from(ErrorKind::NotFound));
            }
            if target.starts_with(b"/") {
                resolved.clear();
                resolved.push("/");
                reached.truncate(1);
            }
            push_steps(&mut steps, &target, Some(targets.len()));
            targets.push(target);
        }
        Ok(Self {
            given,
            canonical: resolved,
            reached,
            given_reached,
            linked,
        })
    }

    /// The metadata of the file the path names.
    fn file(&self) -> &std::fs::Metadata {
        // Never empty: it starts with `/`, which no step removes.
        &self.reached[self.reached.len() - 1]
    }
}

/// Pushes the steps of `path`, the path as given (`link` is `None`) or the
/// target of link number `link`, onto `steps`, the first step last; for the
/// path as given, a [`Step::Given`] after each of its components.
#[cfg(unix)]
fn push_steps(steps: &mut Vec<Step>, path: &[u8], link: Option<usize>) {
    if path.ends_with(b"/") && path.iter().any(|&byte| byte != b'/') {
        steps.push(Step::Stay);
    }
    // From the last name to the first.
    let mut end = path.len();
    while end > 0 {
        let start = path[..end]
            .iter()
            .rposition(|&byte| byte == b'/')
            .map_or(0, |slash| slash + 1);
        let step = match &path[start..end] {
            b"" => None,
            // `Path::components`, which `Path::ancestors` follows, skips `.`.
            b"." => Some(Step::Stay),
            b".." => Some(Step::Leave),
            _ => Some(Step::Enter {
                link,
                name: start..end,
            }),
        };
        if let Some(step) = step {
            if link.is_none() && !matches!(step, Step::Stay) {
                steps.push(Step::Given);
            }
            steps.push(step);
        }
        end = start.saturating_sub(1);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A scratch directory of links and directories, removed at the end.
    struct Tree(PathBuf);

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_walk_resolves_as_canonicalize_does() {
        use std::os::unix::fs::{MetadataExt, symlink};

        let tree = Tree(
            std::fs::canonicalize(std::env::temp_dir())
                .unwrap()
                .join(format!("mpplugin-walk-{}", std::process::id())),
        );
        let root = &tree.0;
        let _ = std::fs::remove_dir_all(root);
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::write(root.join("a/b/c/lib.so"), b"").unwrap();
        symlink("b/c", root.join("a/to-c")).unwrap();
        symlink(root.join("a/b"), root.join("to-b")).unwrap();
        symlink("../a/to-c/lib.so", root.join("a/link.so")).unwrap();
        symlink("link.so", root.join("a/link-to-link.so")).unwrap();
        symlink("nothing-here", root.join("dangling")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink(".", root.join("here")).unwrap();
        let cases = [
            "a/b/c/lib.so",
            "a/to-c/lib.so",
            "to-b/c/lib.so",
            "to-b/../a/b/c/lib.so",
            "a/link.so",
            "a/link-to-link.so",
            "a/to-c/../c/./lib.so",
            "here/here/a/to-c/lib.so",
            "a/b/c/lib.so/",
            "a/b/c/lib.so/.",
            "a/b/c/lib.so/..",
            "a/b/c/lib.so/x",
            "a/b/c/",
            "a/b/c/.",
            "a//b///c/lib.so",
            "dangling",
            "loop",
            "nothing-here",
            "../",
        ];
        for case in cases {
            let path = root.join(case);
            let walk = Walk::of(&path);
            let canonical = std::fs::canonicalize(&path);
            let walk = match (walk, canonical) {
                (Ok(walk), Ok(canonical)) => {
                    assert_eq!(walk.canonical, canonical, "{case}");
                    walk
                }
                (Err(_), Err(_)) => continue,
                (walk, canonical) => panic!(
                    "{case}: the walk says {:?}, canonicalize {canonical:?}",
                    walk.map(|walk| walk.canonical)
                ),
            };
            let inode = |metadata: &std::fs::Metadata| (metadata.dev(), metadata.ino());
            // What the walk reached for each leading part of `path`, and what
            // `stat` finds there.
            let compare = |path: &Path, reached: &[std::fs::Metadata]| {
                let reached: Vec<_> = reached.iter().rev().map(inode).collect();
                let expected: Vec<_> = path
                    .ancestors()
                    .map(|ancestor| inode(&std::fs::metadata(ancestor).unwrap()))
                    .collect();
                assert_eq!(reached, expected, "{case}");
            };
            compare(&walk.canonical, &walk.reached);
            compare(&walk.given, &walk.given_reached);
        }
    }
}
