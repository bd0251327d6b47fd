//! The inspector explains why a plugin would not load: each plugin of a
//! library, and each library file of a folder.

use std::path::Path;
use std::process::Command;

use mpplugin_tests::fixtures::fixture;

/// Runs `mpplugin-inspect` on `path`: its exit code and what it printed.
fn inspect(path: &Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mpplugin-inspect"))
        .arg(path)
        .output()
        .expect("the inspector runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_plugin_of_the_demos_types_is_described_and_accepted() {
    let path = fixture("demo-message");
    let (code, printed) = inspect(path);
    assert_eq!(code, Some(0), "{printed}");
    assert!(
        printed.starts_with("fixture-demo-message 0.3.1 (type `Counter`)\n  file      "),
        "{printed}"
    );
    assert!(
        printed.contains("\n  message   `concat_types::ConcatCommand` (size"),
        "{printed}"
    );
    assert!(
        printed.contains("\n  argument  `alloc::vec::Vec<alloc::string::String>` (size"),
        "{printed}"
    );
    assert!(
        printed
            .contains("\n  verdict   this host would load it (its constructor may still refuse)\n"),
        "{printed}"
    );
    assert!(!printed.contains("refused"), "{printed}");
}

#[test]
fn a_plugin_for_another_message_type_is_described_and_refused() {
    let path = fixture("other-message");
    let (code, printed) = inspect(path);
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        printed.contains("fixture-other-message 0.3.1 (type `Other`)\n  file      "),
        "{printed}"
    );
    assert!(
        printed.contains("\n  message   `u32` (size 4, align 4)\n"),
        "{printed}"
    );
    assert!(printed.contains("argument  none"), "{printed}");
    assert!(
        printed.contains(&format!("\n  rustc     {}\n", mpplugin::abi::RUSTC)),
        "{printed}"
    );
    assert!(
        printed.contains("\n  verdict   refused: plugin")
            && printed.contains("handles messages of type `u32` (size 4, align 4), this host sends `concat_types::ConcatCommand`"),
        "{printed}"
    );
}

#[test]
fn a_plugin_built_by_another_rustc_is_described_and_refused() {
    let (code, printed) = inspect(fixture("other-rustc"));
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        printed.contains("rustc     rustc 1.0.0 (a59807616 2015-05-13)"),
        "{printed}"
    );
    assert!(printed.contains("was built by rustc 1.0.0"), "{printed}");
}

#[test]
fn a_plugin_is_printed_with_the_shapes_of_its_types() {
    let (code, printed) = inspect(fixture("demo-message"));
    assert_eq!(code, Some(0), "{printed}");
    for expected in [
        "  shape of the message:\n    ConcatCommand (size 24, align 8)\n      Concat = 0\n        0: String\n",
        "      Report = 3\n        0: Reply<Report> (size 16, align 8)\n          <parameter 1>: Report",
        "  shape of the argument:\n    Vec<String> (size 24, align 8)\n",
    ] {
        assert!(printed.contains(expected), "{expected:?} in\n{printed}");
    }
}

#[test]
fn a_file_that_is_not_a_library_is_refused_with_the_reason() {
    let path = std::env::temp_dir().join(format!("mpplugin-inspect-{}.so", std::process::id()));
    std::fs::write(&path, "not a library").unwrap();
    let (code, printed) = inspect(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        printed.contains("verdict   refused:")
            && printed.contains("is not a loadable shared library"),
        "{printed}"
    );
}

#[test]
fn every_plugin_of_a_library_is_described_with_its_own_verdict() {
    let path = fixture("several-plugins");
    let (code, printed) = inspect(path);
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        printed.starts_with(&format!("library   {}: 3 plugins\n", path.display())),
        "{printed}"
    );
    for plugin_type in ["First", "Second", "Third"] {
        assert!(
            printed.contains(&format!(
                "\n\nfixture-several-plugins 0.3.1 (type `{plugin_type}`)\n  file      "
            )),
            "{plugin_type}: {printed}"
        );
        assert!(
            printed.contains(&format!(
                "\n  symbol    __mpplugin_declaration__fixture_several_plugins__{plugin_type}\n"
            )),
            "{plugin_type}: {printed}"
        );
    }
    assert!(
        printed.contains("argument  `alloc::string::String` (size 24, align 8)"),
        "{printed}"
    );
    // Each plugin is refused for its own message type, not the library's
    // first.
    assert_eq!(
        printed
            .matches("handles messages of type `fixture_types::Event`")
            .count(),
        2,
        "{printed}"
    );
    assert_eq!(
        printed
            .matches("handles messages of type `u32` (size 4, align 4)")
            .count(),
        1,
        "{printed}"
    );
}

#[test]
#[cfg(unix)]
fn every_library_file_of_a_folder_is_inspected_and_other_files_are_not() {
    use std::os::unix::fs::PermissionsExt;

    let folder = std::env::temp_dir().join(format!("mpplugin-inspect-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plugin = folder.join("libother.so");
    std::fs::copy(fixture("other-message"), &plugin).unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = folder.join("notes.so");
    std::fs::write(&text, "not a library").unwrap();
    std::fs::write(folder.join("README.txt"), "plugins go here").unwrap();
    let (code, printed) = inspect(&folder);
    std::fs::remove_dir_all(&folder).unwrap();
    assert_eq!(code, Some(1), "{printed}");
    assert!(
        printed.starts_with(&format!(
            "folder    {}: 2 library file(s)\n",
            folder.display()
        )),
        "{printed}"
    );
    assert!(
        printed.contains("fixture-other-message 0.3.1 (type `Other`)\n  file      ")
            && printed.contains(&format!("file      {}", plugin.display())),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "{}\n  verdict   refused: `{}` is not a loadable shared library",
            text.display(),
            text.display()
        )),
        "{printed}"
    );
    assert!(!printed.contains("README"), "{printed}");
}

#[test]
fn no_argument_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_mpplugin-inspect"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: mpplugin-inspect"));
}
