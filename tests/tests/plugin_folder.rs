//! A folder of plugins (`PluginLibrary::open_dir`): every library file
//! opened, in path order, each with its own result; the bad ones refused by
//! name without stopping the others; other files and subfolders left alone;
//! the folder itself checked as a plugin's directory is.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use fixture_types::Event;
use mpplugin::load::{OpenOptions, OpenedDir};
use mpplugin::{LoadError, Plugin, PluginLibrary};
use mpplugin_tests::fixtures::{fixture, report};

fn open_dir(dir: &Path) -> Result<OpenedDir, LoadError> {
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test; the copies are byte for byte the same.
    unsafe { PluginLibrary::open_dir(dir) }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A folder of its own under the temporary directory (sticky, so it does
/// not count), mode 0755, removed at the end of the test.
struct Folder(PathBuf);

impl Folder {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("mpplugin-folder-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        chmod(&dir, 0o755);
        Self(fs::canonicalize(dir).unwrap())
    }

    /// `bytes` at `name` in the folder, with `mode`.
    fn file(&self, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).unwrap();
        chmod(&path, mode);
        path
    }

    /// A copy of fixture `fixture` at `name`, mode 0755.
    fn copy(&self, fixture_name: &str, name: &str) -> PathBuf {
        self.file(name, &fs::read(fixture(fixture_name)).unwrap(), 0o755)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_good_libraries_of_a_mixed_folder_load_and_each_bad_one_is_refused_by_name() {
    let folder = Folder::new("mixed");
    let good = folder.copy("good", "libgood.so");
    let several = folder.copy("several-plugins", "libseveral.so");
    let not_a_plugin = folder.copy("not-a-plugin", "libnot_a_plugin.so");
    let text = folder.file("notes.so", b"these are notes, not a library\n", 0o644);
    let whole = fs::read(fixture("good")).unwrap();
    let truncated = folder.file("libtruncated.so", &whole[..4096], 0o755);
    let writable = folder.file("libwritable.so", &whole, 0o602);
    // Skipped, and not reported: a file of another kind, a subfolder (even
    // one named like a library), and what is inside them.
    folder.file("README.txt", b"plugins go here\n", 0o644);
    folder.file("libgood.so.bak", &whole, 0o755);
    fs::create_dir(folder.0.join("nested.so")).unwrap();
    chmod(&folder.0.join("nested.so"), 0o755);
    fs::copy(fixture("good"), folder.0.join("nested.so/libinside.so")).unwrap();

    let found = open_dir(&folder.0).unwrap();
    let paths: Vec<&Path> = found.iter().map(|(path, _)| &**path).collect();
    assert_eq!(
        paths,
        [
            &*good,
            &*not_a_plugin,
            &*several,
            &*truncated,
            &*writable,
            &*text
        ],
        "every library file, in path order, and nothing else"
    );
    let result = |path: &Path| {
        found
            .iter()
            .find(|(found, _)| found == path)
            .map(|(_, result)| result.clone())
            .unwrap()
    };

    let good_library = result(&good).unwrap();
    assert_eq!(good_library.info().path, good);
    assert_eq!(good_library.info().plugin_type, "Good");
    let mut plugin = good_library.instantiate::<Event>().unwrap();
    assert_eq!(plugin.handle_message(Event::Add(2).into()), None);
    assert_eq!(report(&mut plugin), "good: 2");

    let several_library = result(&several).unwrap();
    let types: Vec<&str> = several_library
        .plugins()
        .iter()
        .map(|info| &*info.plugin_type)
        .collect();
    assert_eq!(types, ["First", "Second", "Third"]);
    several_library
        .instantiate_named::<Event>("Second")
        .unwrap();

    assert_eq!(
        result(&not_a_plugin).unwrap_err(),
        LoadError::NotAPlugin {
            path: not_a_plugin.clone()
        }
    );
    let text_error = result(&text).unwrap_err();
    assert_eq!(
        text_error,
        LoadError::NotALibrary {
            path: text.clone(),
            reason: "Unknown file magic".to_owned(),
        }
    );
    assert_eq!(
        text_error.to_string(),
        format!(
            "`{}` is not a loadable shared library: Unknown file magic; give the path of a plugin's cdylib. If there is none, either the plugin is not built yet: build its package with `cargo build -p <package>`, or its crate is not a cdylib: add `crate-type = [\"cdylib\", \"rlib\"]` to the `[lib]` section of its Cargo.toml",
            text.display()
        )
    );
    match result(&truncated).unwrap_err() {
        LoadError::NotALibrary { path, reason } => {
            assert_eq!(path, truncated);
            assert_eq!(reason, TRUNCATED_REASON);
        }
        other => panic!("expected NotALibrary, got {other:?}"),
    }
    let writable_error = result(&writable).unwrap_err();
    assert_eq!(
        writable_error,
        LoadError::WritableByOthers {
            path: writable.clone(),
            writable: writable.clone(),
            mode: 0o100602,
            group: None,
            group_members: Vec::new(),
            everyone: true,
        }
    );
    assert_eq!(
        writable_error.to_string(),
        format!(
            "refusing to load plugin `{0}`: `{0}` (mode 0602) is writable by every user, who could replace the plugin with code of their own: run `chmod o-w {0}`, or, if you trust everyone who can write there, open it with `PluginLibrary::open_with` and `OpenOptions::allow_writable_by_others(true)`",
            writable.display()
        )
    );
}

/// What the file check says of the first 4 KiB of the `good` fixture.
const TRUNCATED_REASON: &str = "Invalid ELF section header offset/size/alignment";

#[test]
fn a_folder_others_can_write_to_is_refused_before_any_file_in_it_is_opened() {
    let folder = Folder::new("writable");
    folder.copy("good", "libgood.so");
    chmod(&folder.0, 0o757);
    let error = open_dir(&folder.0).unwrap_err();
    assert_eq!(
        error,
        LoadError::WritableByOthers {
            path: folder.0.clone(),
            writable: folder.0.clone(),
            mode: 0o040757,
            group: None,
            group_members: Vec::new(),
            everyone: true,
        }
    );
    // Told that everyone who can write there is trusted, it opens the folder
    // and what is in it.
    // SAFETY: as `open_dir`.
    let found = unsafe {
        PluginLibrary::open_dir_with(&folder.0, OpenOptions::new().allow_writable_by_others(true))
    }
    .unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].1.is_ok(), "{found:?}");
}

#[test]
fn a_missing_folder_cannot_be_opened_and_an_empty_one_holds_nothing() {
    let folder = Folder::new("empty");
    assert_eq!(open_dir(&folder.0).unwrap().len(), 0);
    let missing = folder.0.join("missing");
    match open_dir(&missing).unwrap_err() {
        LoadError::Open { path, message } => {
            assert_eq!(path, missing);
            assert_eq!(message, "No such file or directory (os error 2)");
        }
        other => panic!("expected Open, got {other:?}"),
    }
    let file = folder.copy("good", "libgood.so");
    match open_dir(&file).unwrap_err() {
        LoadError::Open { path, message } => {
            assert_eq!(path, file);
            assert_eq!(message, "Not a directory (os error 20)");
        }
        other => panic!("expected Open, got {other:?}"),
    }
}
