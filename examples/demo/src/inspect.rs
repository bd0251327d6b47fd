//! `mpplugin-inspect`: why won't my plugin load? Prints what a plugin file
//! declares and whether this host (the demo's: messages `ConcatCommand`,
//! argument `Vec<String>` if any) would load it, and why not.
//!
//! `cargo run -p mpplugin-demo --bin mpplugin-inspect -- <plugin file>...`

use std::path::Path;
use std::process::ExitCode;

use concat_types::ConcatCommand;
use mpplugin::PluginLibrary;

fn main() -> ExitCode {
    let paths: Vec<_> = std::env::args_os().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: mpplugin-inspect <plugin file>...");
        return ExitCode::from(2);
    }
    let mut all_loadable = true;
    for path in &paths {
        all_loadable &= inspect(Path::new(path));
    }
    if all_loadable {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Prints the plugin's declaration and the verdict; whether it would load.
fn inspect(path: &Path) -> bool {
    // SAFETY: opening runs the library's initialisers; inspect only files
    // you would load anyway. Nothing in the plugin is constructed.
    let library = match unsafe { PluginLibrary::open(path) } {
        Ok(library) => library,
        Err(error) => {
            println!("{}\n  verdict   refused: {error}\n", path.display());
            return false;
        }
    };
    println!("{}", library.info());
    let verdict = match &library.info().argument {
        Some(_) => library.check_with::<ConcatCommand, Vec<String>>(),
        None => library.check::<ConcatCommand>(),
    };
    match verdict {
        Ok(()) => {
            println!("  verdict   this host would load it (its constructor may still refuse)\n");
            true
        }
        Err(error) => {
            println!("  verdict   refused: {error}\n");
            false
        }
    }
}
