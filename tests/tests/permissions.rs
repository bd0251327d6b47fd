//! Who may supply a plugin: the loader refuses a plugin file that users other
//! than its owner and root can write to, or that sits below a directory they
//! can write to, unless told otherwise.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown, symlink};
use std::path::{Path, PathBuf};

use mpplugin::load::OpenOptions;
use mpplugin::{LoadError, PluginLibrary};
use mpplugin_tests::fixtures::fixture;

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test; the copies are byte for byte the same.
    unsafe { PluginLibrary::open(path) }
}

fn open_allowing_writable(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: as `open`.
    unsafe { PluginLibrary::open_with(path, OpenOptions::new().allow_writable_by_others(true)) }
}

/// A directory of its own under the temporary directory (sticky, so it does
/// not count), removed at the end of the test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "mpplugin-permissions-{}-{test}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        chmod(&dir, 0o755);
        Self(fs::canonicalize(dir).unwrap())
    }

    fn dir(&self, name: &str, mode: u32) -> PathBuf {
        let dir = self.0.join(name);
        fs::create_dir_all(&dir).unwrap();
        chmod(&dir, mode);
        dir
    }

    /// A copy of the `good` fixture at `dir/name` with `mode`.
    fn plugin(&self, dir: &Path, mode: u32) -> PathBuf {
        let path = dir.join("libcopy.so");
        fs::copy(fixture("good"), &path).unwrap();
        chmod(&path, mode);
        path
    }

    /// Whether this test runs as root, which `chown` to another user needs.
    fn as_root(&self) -> bool {
        fs::metadata(&self.0).unwrap().uid() == 0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Whether a test can run here. When it cannot, it says why; and where `CI`
/// is set (`.ci/run` sets it) it fails instead, since there a check that did
/// not run is a check lost, not a pass.
fn runs_here(possible: bool, why_not: &str) -> bool {
    if !possible {
        assert!(
            std::env::var_os("CI").is_none(),
            "this test cannot run here, and CI is set: {why_not}"
        );
        eprintln!("SKIPPED, not passed: {why_not}");
    }
    possible
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The refusal, with what it says.
fn refused(path: &Path) -> (PathBuf, Option<String>, Vec<String>, bool, String) {
    let error = match open(path) {
        Ok(_) => panic!(
            "{} was loaded, though others can write to it",
            path.display()
        ),
        Err(error) => error,
    };
    let text = error.to_string();
    match error {
        LoadError::WritableByOthers {
            path: reported,
            writable,
            group,
            group_members,
            everyone,
            ..
        } => {
            assert_eq!(reported, path);
            (writable, group, group_members, everyone, text)
        }
        other => panic!(
            "expected WritableByOthers for {}, got {other:?}",
            path.display()
        ),
    }
}

/// `/etc/passwd` as (name, uid, gid), and `/etc/group` as (name, gid, members).
type Passwd = Vec<(String, u32, u32)>;
type Groups = Vec<(String, u32, Vec<String>)>;

fn accounts() -> (Passwd, Groups) {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = fs::read_to_string("/etc/group").unwrap_or_default();
    let users = passwd
        .lines()
        .filter_map(|line| {
            let f: Vec<_> = line.split(':').collect();
            Some((
                f.first()?.to_string(),
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
            ))
        })
        .collect();
    let groups = group
        .lines()
        .filter_map(|line| {
            let f: Vec<_> = line.split(':').collect();
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?, members))
        })
        .collect();
    (users, groups)
}

// ---- refused ----

#[test]
fn a_world_writable_plugin_file_is_refused() {
    let scratch = Scratch::new("world-file");
    let path = scratch.plugin(&scratch.dir("plugins", 0o755), 0o757);
    let (writable, group, _, everyone, text) = refused(&path);
    assert_eq!(writable, path);
    assert_eq!((group, everyone), (None, true));
    assert!(
        text.contains(&format!(
            "`{}` (mode 0757) is writable by every user",
            path.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("run `chmod o-w {}`", path.display())),
        "{text}"
    );
    assert!(text.contains("allow_writable_by_others(true)"), "{text}");
}

#[test]
fn a_writable_parent_directory_is_refused() {
    let scratch = Scratch::new("world-dir");
    let dir = scratch.dir("plugins", 0o777);
    let path = scratch.plugin(&dir, 0o755);
    let (writable, _, _, everyone, text) = refused(&path);
    assert_eq!(writable, dir);
    assert!(everyone);
    assert!(
        text.contains(&format!("run `chmod o-w {}`", dir.display())),
        "{text}"
    );
}

#[test]
fn a_writable_directory_higher_up_is_refused() {
    let scratch = Scratch::new("world-grandparent");
    let top = scratch.dir("shared", 0o777);
    let dir = scratch.dir("shared/plugins", 0o755);
    let path = scratch.plugin(&dir, 0o755);
    let (writable, ..) = refused(&path);
    assert_eq!(writable, top);
}

#[test]
fn a_symbolic_link_in_a_writable_directory_is_refused() {
    let scratch = Scratch::new("symlink");
    let path = scratch.plugin(&scratch.dir("safe", 0o755), 0o755);
    open(&path).expect("the plugin itself is safe");
    let links = scratch.dir("links", 0o777);
    let link = links.join("libcopy.so");
    symlink(&path, &link).unwrap();
    let (writable, ..) = refused(&link);
    assert_eq!(writable, links, "anyone may point the link elsewhere");
}

#[test]
fn a_link_met_along_the_way_in_a_writable_directory_is_refused() {
    let scratch = Scratch::new("link-chain");
    let path = scratch.plugin(&scratch.dir("safe", 0o755), 0o755);
    // entry/libcopy.so -> ../hops/libcopy.so -> <scratch>/safe/libcopy.so:
    // neither the path as given nor the file it names is below `hops`.
    let hops = scratch.dir("hops", 0o755);
    symlink(&path, hops.join("libcopy.so")).unwrap();
    let entry = scratch.dir("entry", 0o755).join("libcopy.so");
    symlink("../hops/libcopy.so", &entry).unwrap();
    assert_eq!(open(&entry).unwrap().info().name, "fixture-good");
    chmod(&hops, 0o777);
    let (writable, ..) = refused(&entry);
    assert_eq!(writable, hops, "anyone may point the second link elsewhere");
}

#[test]
fn a_directory_link_met_along_the_way_in_a_writable_directory_is_refused() {
    let scratch = Scratch::new("directory-link-chain");
    let safe = scratch.dir("safe", 0o755);
    scratch.plugin(&safe, 0o755);
    // entry/lib -> ../hops/hop, and hops/hop -> <scratch>/safe: the file is
    // reached as <scratch>/entry/lib/libcopy.so.
    let hops = scratch.dir("hops", 0o755);
    symlink(&safe, hops.join("hop")).unwrap();
    let entry = scratch.dir("entry", 0o755);
    symlink("../hops/hop", entry.join("lib")).unwrap();
    let path = entry.join("lib/libcopy.so");
    assert_eq!(open(&path).unwrap().info().name, "fixture-good");
    chmod(&hops, 0o777);
    let (writable, ..) = refused(&path);
    assert_eq!(writable, hops, "anyone may point `hop` elsewhere");
}

#[test]
fn a_group_writable_file_whose_group_has_other_members_is_refused() {
    let scratch = Scratch::new("group-others");
    if !runs_here(
        scratch.as_root(),
        "giving a file to another group needs root",
    ) {
        return;
    }
    let (users, _) = accounts();
    let (member, _, gid) = users
        .iter()
        .find(|(_, uid, gid)| *uid != 0 && *gid != 0)
        .expect("/etc/passwd lists a user other than root");
    let path = scratch.plugin(&scratch.dir("plugins", 0o755), 0o775);
    chown(&path, Some(0), Some(*gid)).unwrap();
    let (writable, group, members, everyone, text) = refused(&path);
    assert_eq!(writable, path);
    assert!(!everyone);
    let group = group.expect("the group counts");
    assert!(members.contains(member), "{members:?} lacks {member}");
    assert!(
        text.contains(&format!("is writable by group `{group}`")) && text.contains(member.as_str()),
        "{text}"
    );
    assert!(
        text.contains(&format!("run `chmod g-w {}`", path.display())),
        "{text}"
    );
}

#[test]
fn a_group_writable_directory_whose_group_has_other_members_is_refused() {
    let scratch = Scratch::new("group-dir");
    if !runs_here(
        scratch.as_root(),
        "giving a directory to another group needs root",
    ) {
        return;
    }
    let (users, _) = accounts();
    let (_, _, gid) = users
        .iter()
        .find(|(_, uid, gid)| *uid != 0 && *gid != 0)
        .expect("/etc/passwd lists a user other than root");
    let dir = scratch.dir("plugins", 0o775);
    chown(&dir, Some(0), Some(*gid)).unwrap();
    let path = scratch.plugin(&dir, 0o755);
    let (writable, group, ..) = refused(&path);
    assert_eq!(writable, dir);
    assert!(group.is_some());
}

// ---- allowed ----

#[test]
fn a_group_writable_file_of_its_owners_private_group_loads() {
    let scratch = Scratch::new("private-group");
    if !runs_here(
        scratch.as_root(),
        "giving a file to another user needs root",
    ) {
        return;
    }
    let (users, groups) = accounts();
    // A user whose primary group has no one else in it, as Debian makes for
    // each user.
    let private = users.iter().find(|(name, uid, gid)| {
        *uid != 0
            && users
                .iter()
                .all(|(other, _, primary)| other == name || primary != gid)
            && groups
                .iter()
                .any(|(_, id, members)| id == gid && members.iter().all(|m| m == name))
    });
    if !runs_here(private.is_some(), "no user here has a private group") {
        return;
    }
    let Some((name, uid, gid)) = private else {
        unreachable!("checked just above")
    };
    let path = scratch.plugin(&scratch.dir("plugins", 0o755), 0o775);
    chown(&path, Some(*uid), Some(*gid)).unwrap();
    let library = open(&path).unwrap_or_else(|error| {
        panic!("group of {name} alone may write, yet: {error}");
    });
    assert_eq!(library.info().name, "fixture-good");
}

#[test]
fn a_sticky_world_writable_directory_does_not_count() {
    let scratch = Scratch::new("sticky");
    let dir = scratch.dir("drop-box", 0o1777);
    let path = scratch.plugin(&dir, 0o755);
    let library = open(&path).unwrap();
    assert_eq!(library.info().name, "fixture-good");
    // The same directory without its sticky bit does.
    chmod(&dir, 0o777);
    let (writable, ..) = refused(&path);
    assert_eq!(writable, dir);
}

#[test]
fn the_fixtures_built_under_the_target_directory_load() {
    for name in ["good", "good-args"] {
        let library = open(fixture(name)).unwrap();
        assert_eq!(library.info().name, format!("fixture-{name}"));
    }
}

#[test]
fn the_explicit_option_loads_a_plugin_others_can_write() {
    let scratch = Scratch::new("override");
    let dir = scratch.dir("plugins", 0o777);
    let path = scratch.plugin(&dir, 0o777);
    refused(&path);
    let library = open_allowing_writable(&path).unwrap();
    let plugin = library.instantiate::<fixture_types::Event>().unwrap();
    drop(plugin);
    // Opened once with the option, the library is loaded; a later plain
    // `open` still checks how things stand now and refuses.
    refused(&path);
    // And once fixed, the same file opens without the option.
    chmod(&path, 0o755);
    chmod(&dir, 0o755);
    assert_eq!(open(&path).unwrap().info().name, "fixture-good");
}
