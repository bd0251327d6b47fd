//! The inspector explains why a plugin would not load.

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
fn no_argument_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_mpplugin-inspect"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: mpplugin-inspect"));
}
