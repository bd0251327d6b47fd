//! What a user reads when a load is refused: the whole sentence, through
//! `Display` and through `Debug` (what `?` in `main` prints), for the
//! refusals a newcomer meets first: no file there, a file that is no
//! library, a type that differs, a plugin others can write to.

use std::error::Error;
use std::path::{Path, PathBuf};

use fixture_types::Event;
use mpplugin::load::TypeInfo;
use mpplugin::{LoadError, PluginLibrary};
use mpplugin_tests::fixtures::fixture;
use mpplugin_tests::scratch::Scratch;

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain; the other files are refused before anything is run.
    unsafe { PluginLibrary::open(path) }
}

/// `name` in a directory of its own (only its owner can write to it), removed with it when the guard
/// returned is dropped: keep the guard until the test ends.
fn scratch(name: &str) -> (Scratch, PathBuf) {
    let dir = Scratch::new(&format!("messages-{name}"));
    let path = dir.join(name);
    (dir, path)
}

/// What `fn main() -> Result<(), Box<dyn Error>>` prints after `Error: `.
fn as_main_prints(error: LoadError) -> String {
    let boxed: Box<dyn Error> = error.into();
    format!("{boxed:?}")
}

#[test]
fn a_missing_file_says_it_may_not_be_built_or_not_a_cdylib() {
    let (_dir, path) = scratch("libgreeter_plugin.so");
    let error = open(&path).unwrap_err();
    let expected = format!(
        "cannot open plugin `{}`: No such file or directory (os error 2); either the plugin is \
         not built yet: build it with `cargo build -p greeter-plugin` (or `-p greeter_plugin`, \
         whichever is its package's name), or its crate is not a cdylib: add \
         `crate-type = [\"cdylib\", \"rlib\"]` to the `[lib]` section of its Cargo.toml",
        path.display()
    );
    assert_eq!(error.to_string(), expected);
    assert_eq!(as_main_prints(error), expected);
}

#[test]
fn a_missing_file_named_without_dashes_gives_one_command() {
    let (_dir, path) = scratch(&mpplugin::library_file_name("plugin"));
    assert!(
        open(&path)
            .unwrap_err()
            .to_string()
            .contains("not built yet: build it with `cargo build -p plugin`, or its crate"),
    );
}

#[test]
fn a_missing_file_of_no_crate_name_gives_the_generic_command() {
    let (_dir, path) = scratch("plugin.bin");
    let error = open(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "cannot open plugin `{}`: No such file or directory (os error 2); either the plugin \
             is not built yet: build its package with `cargo build -p <package>`, or its crate \
             is not a cdylib: add `crate-type = [\"cdylib\", \"rlib\"]` to the `[lib]` section \
             of its Cargo.toml",
            path.display()
        )
    );
}

#[test]
fn an_rlib_given_for_a_plugin_says_which_file_to_give_and_why_there_may_be_none() {
    // What a crate without `cdylib` leaves beside where its plugin would be.
    let (_dir, path) = scratch("libgreeter_plugin.rlib");
    std::fs::write(&path, "!<arch>\n").unwrap();
    let error = open(&path).unwrap_err();
    let LoadError::NotALibrary { reason, .. } = &error else {
        panic!("expected NotALibrary, got {error:?}");
    };
    assert!(!reason.is_empty());
    let expected = format!(
        "`{}` is not a loadable shared library: {reason}; give the path of a plugin's cdylib \
         (`{}` for crate `greeter_plugin`). If there is none, either the plugin is not built \
         yet: build it with `cargo build -p greeter-plugin` (or `-p greeter_plugin`, whichever \
         is its package's name), or its crate is not a cdylib: add \
         `crate-type = [\"cdylib\", \"rlib\"]` to the `[lib]` section of its Cargo.toml",
        path.display(),
        mpplugin::library_file_name("greeter-plugin"),
    );
    assert_eq!(error.to_string(), expected);
    assert_eq!(as_main_prints(error), expected);
}

#[test]
fn another_message_type_names_both_sides_and_blames_neither() {
    let path = fixture("good");
    let error = open(path).unwrap().instantiate::<u64>().unwrap_err();
    let expected = format!(
        "plugin `{}` handles messages of type {}, this host sends `u64` (size 8, align 8): host \
         and plugin must be built against one message type: build both from the same version \
         of the crate that defines it, with the same features (rebuild whichever is behind), \
         or load this plugin into a host of its message type",
        path.display(),
        TypeInfo::of::<Event>(),
    );
    assert_eq!(error.to_string(), expected);
    assert_eq!(as_main_prints(error), expected);
}

#[test]
fn another_argument_type_names_both_sides_and_blames_neither() {
    let path = fixture("good-args");
    let error = open(path)
        .unwrap()
        .instantiate_with::<Event, _>(&7_u32)
        .unwrap_err();
    let expected = format!(
        "plugin `{}` takes {} as its argument, this host gives `u32` (size 4, align 4): host \
         and plugin must agree on one argument type: build both against the same definition \
         of it, or pass an argument of the type the plugin's `new` takes",
        path.display(),
        TypeInfo::of::<Vec<String>>(),
    );
    assert_eq!(error.to_string(), expected);
    assert_eq!(as_main_prints(error), expected);
}

#[cfg(unix)]
#[test]
fn a_writable_plugin_shows_its_mode_in_octal_through_question_mark() {
    use std::os::unix::fs::PermissionsExt;

    let (_dir, path) = scratch("libworld_writable.so");
    std::fs::copy(fixture("good"), &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o757)).unwrap();
    let error = open(&path).unwrap_err();
    let shown = as_main_prints(error);
    let path = path.display();
    assert_eq!(
        shown,
        format!(
            "refusing to load plugin `{path}`: `{path}` (mode 0757) is writable by every user, \
             who could replace the plugin with code of their own: run `chmod o-w {path}`, or, \
             if you trust everyone who can write there, open it with \
             `PluginLibrary::open_with` and `OpenOptions::allow_writable_by_others(true)`"
        )
    );
}
