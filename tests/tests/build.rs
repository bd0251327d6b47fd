//! `mpplugin::build` against real crates and a real cargo: the fixture
//! plugins, a crate that is not a cdylib, a crate that does not compile, a
//! cargo that is not there, and a plugin edited between two runs.

use std::fs;
use std::path::{Path, PathBuf};

use mpplugin::PluginLibrary;
use mpplugin::build::{Build, BuildError};
use mpplugin_tests::fixtures;

/// A fresh directory for a crate of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("build-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src")).unwrap();
        Self(dir)
    }

    /// A package of no dependencies, its own workspace, with this `lib.rs`.
    fn package(&self, name: &str, crate_types: &str, lib: &str) {
        fs::write(
            self.0.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
                 [lib]\ncrate-type = [{crate_types}]\n\n[workspace]\n"
            ),
        )
        .unwrap();
        fs::write(self.0.join("src/lib.rs"), lib).unwrap();
    }

    fn build(&self) -> Build {
        Build::new()
            .current_dir(&self.0)
            .target_dir(self.0.join("target"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_built_plugin_is_found_by_its_package_name_and_loads() {
    let built = fixtures::build().package("fixture-good").run().unwrap();
    let path = built.library("fixture-good").unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        mpplugin::library_file_name("fixture-good")
    );
    // The crate name finds it as well.
    assert_eq!(built.library("fixture_good").unwrap(), path);
    // SAFETY: a fixture built from this repository by this toolchain.
    let library = unsafe { PluginLibrary::open(path) }.unwrap();
    assert_eq!(library.info().name, "fixture-good");
}

#[test]
fn the_library_file_name_is_the_platforms() {
    let name = mpplugin::library_file_name("concat-plugin");
    if cfg!(target_os = "linux") {
        assert_eq!(name, "libconcat_plugin.so");
    } else if cfg!(target_os = "macos") {
        assert_eq!(name, "libconcat_plugin.dylib");
    } else if cfg!(windows) {
        assert_eq!(name, "concat_plugin.dll");
    }
}

#[test]
fn a_crate_that_is_not_a_cdylib_is_named_with_the_fix() {
    let built = fixtures::build().package("fixture-types").run().unwrap();
    let error = built.library("fixture-types").unwrap_err();
    assert_eq!(
        error,
        BuildError::NotACdylib {
            name: "fixture-types".to_owned(),
            kinds: vec!["lib".to_owned()],
        }
    );
    assert_eq!(
        error.to_string(),
        "`fixture-types` was built as lib, not as a `cdylib` that a host can load: add \
         `crate-type = [\"cdylib\", \"rlib\"]` to the `[lib]` section of its Cargo.toml \
         (\"rlib\" keeps it an ordinary library too)"
    );
}

#[test]
fn a_crate_this_run_did_not_build_is_named_with_what_it_built() {
    // A package without dependencies (`fixture-types` has mpplugin's), so
    // that the list is short and the same on every platform.
    let built = fixtures::build()
        .package("fixture-not-a-plugin")
        .run()
        .unwrap();
    assert_eq!(
        built.library("fixture-good").unwrap_err().to_string(),
        "cargo did not build `fixture-good` in this run (it built fixture_not_a_plugin): select \
         its package with `Build::package(\"fixture-good\")`, or check the name"
    );
}

#[test]
fn a_failed_build_carries_the_compilers_diagnostics() {
    let scratch = Scratch::new("fails");
    scratch.package(
        "does-not-compile",
        "\"cdylib\"",
        "pub fn answer() -> u32 {\n    \"forty-two\"\n}\n",
    );
    let error = scratch.build().run().unwrap_err();
    let BuildError::Failed {
        command,
        diagnostics,
    } = &error
    else {
        panic!("expected a failed build, got {error:#?}");
    };
    assert!(command.ends_with(&format!(
        "build --target-dir {}",
        scratch.0.join("target").display()
    )));
    // rustc's own rendering: the code, where, and the expected type.
    assert!(
        diagnostics.contains("error[E0308]: mismatched types"),
        "{diagnostics}"
    );
    assert!(diagnostics.contains("src/lib.rs:2:5"), "{diagnostics}");
    assert!(diagnostics.contains("\"forty-two\""), "{diagnostics}");
    // And cargo's verdict, which cargo prints itself.
    assert!(
        diagnostics.contains("could not compile `does-not-compile`"),
        "{diagnostics}"
    );
    assert!(error.to_string().starts_with(&format!(
        "building the plugins failed: `{command}` said:\nerror[E0308]"
    )));
}

#[test]
fn a_missing_cargo_says_how_to_get_one() {
    let error = Build::new().cargo("/nonexistent/cargo").run().unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot build the plugins: cargo (`/nonexistent/cargo`) was not found: install Rust \
         (https://rustup.rs), or set the environment variable `CARGO` to cargo's path"
    );
}

#[test]
fn question_mark_in_main_prints_the_sentence() {
    // `fn main() -> Result<(), Box<dyn Error>>` prints the error's `Debug`.
    let error = Build::new().cargo("/nonexistent/cargo").run().unwrap_err();
    assert_eq!(format!("{error:?}"), error.to_string());
    assert!(format!("{error:#?}").starts_with("Cargo {\n    cargo: \"/nonexistent/cargo\""));
}

#[test]
fn a_build_run_again_rebuilds_only_after_an_edit() {
    let scratch = Scratch::new("again");
    let plugin = |value: u32| {
        format!("#[unsafe(no_mangle)]\npub extern \"C\" fn value() -> u32 {{\n    {value}\n}}\n")
    };
    scratch.package("edited", "\"cdylib\", \"rlib\"", &plugin(1));
    let build = scratch.build().package("edited");

    let first = build.run().unwrap();
    let path = first.library("edited").unwrap().to_owned();
    assert!(first.artifacts()[0].rebuilt);

    let unchanged = build.run().unwrap();
    assert_eq!(unchanged.library("edited").unwrap(), path);
    assert!(!unchanged.artifacts()[0].rebuilt);

    scratch.package("edited", "\"cdylib\", \"rlib\"", &plugin(2));
    let edited = build.run().unwrap();
    assert_eq!(edited.library("edited").unwrap(), path);
    assert!(edited.artifacts()[0].rebuilt);
    assert_eq!(edited.artifacts()[0].kinds, ["cdylib", "rlib"]);
}

#[test]
fn rustc_flags_reach_the_selected_library_only() {
    let scratch = Scratch::new("flags");
    scratch.package(
        "flagged",
        "\"cdylib\"",
        "#[cfg(not(flagged))]\ncompile_error!(\"built without the flag\");\n",
    );
    let error = scratch.build().run().unwrap_err();
    assert!(
        error.to_string().contains("built without the flag"),
        "{error}"
    );
    let built = scratch
        .build()
        .rustc_flags(["--cfg", "flagged", "-A", "unexpected_cfgs"])
        .run()
        .unwrap();
    assert!(built.library("flagged").is_ok());
}
