//! Records the identity of the compiler and target that build this copy of
//! mpplugin. A host and a plugin each carry their own copy; the loader
//! refuses a plugin whose identity differs from the host's.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");

    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .arg("-vV")
        .output()
        .unwrap_or_else(|error| panic!("mpplugin: cannot run `{rustc} -vV`: {error}"));
    assert!(
        output.status.success(),
        "mpplugin: `{rustc} -vV` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
            .unwrap_or("unknown")
            .trim()
            .to_owned()
    };
    // Release, commit and date decide the ABI of Rust types; the LLVM version
    // and the host triple of the compiler do not, so they are left out.
    let identity = format!(
        "rustc {} ({} {})",
        field("release"),
        field("commit-hash"),
        field("commit-date")
    );
    let target = env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=MPPLUGIN_RUSTC={identity}");
    println!("cargo:rustc-env=MPPLUGIN_TARGET={target}");
}
