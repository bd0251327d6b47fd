//! `mpplugin-inspect`: why won't my plugin load? Prints what each plugin of
//! a library declares and whether this host (the demo's: messages
//! `ConcatCommand`, argument `Vec<String>` if any) would load it, and why
//! not. Given a folder, it does so for every library file in it.
//!
//! `cargo run -p mpplugin-demo --bin mpplugin-inspect -- <plugin file or folder>...`

use std::path::Path;
use std::process::ExitCode;

use concat_types::ConcatCommand;
use mpplugin::{LoadError, PluginLibrary};

fn main() -> ExitCode {
    let paths: Vec<_> = std::env::args_os().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: mpplugin-inspect <plugin file or folder>...");
        return ExitCode::from(2);
    }
    let mut all_loadable = true;
    for path in &paths {
        let path = Path::new(path);
        all_loadable &= if path.is_dir() {
            inspect_folder(path)
        } else {
            // SAFETY: opening runs the library's initialisers; inspect only
            // files you would load anyway. Nothing in the plugin is
            // constructed.
            inspect(path, unsafe { PluginLibrary::open(path) })
        };
    }
    if all_loadable {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Inspects every library file of the folder; whether all would load.
fn inspect_folder(folder: &Path) -> bool {
    // SAFETY: as for a file, for every library file in the folder.
    let found = match unsafe { PluginLibrary::open_dir(folder) } {
        Ok(found) => found,
        Err(error) => {
            println!("{}\n  verdict   refused: {error}\n", folder.display());
            return false;
        }
    };
    println!(
        "folder    {}: {} library file(s)\n",
        folder.display(),
        found.len()
    );
    let mut all_loadable = true;
    for (path, opened) in found {
        all_loadable &= inspect(&path, opened);
    }
    all_loadable
}

/// Prints each plugin's declaration and its verdict; whether all would
/// load.
fn inspect(path: &Path, opened: Result<PluginLibrary, LoadError>) -> bool {
    let library = match opened {
        Ok(library) => library,
        Err(error) => {
            println!("{}\n  verdict   refused: {error}\n", path.display());
            return false;
        }
    };
    let plugins = library.plugins();
    if plugins.len() > 1 {
        println!("library   {}: {} plugins\n", path.display(), plugins.len());
    }
    let mut all_loadable = true;
    for info in plugins {
        println!("{info}");
        // What the loader compares field by field with the host's types.
        println!(
            "  shape of the message:\n    {}",
            indent(&info.message_shape.to_string())
        );
        if let Some(argument) = &info.argument_shape {
            println!(
                "  shape of the argument:\n    {}",
                indent(&argument.to_string())
            );
        }
        let name = &info.plugin_type;
        let verdict = match &info.argument {
            Some(_) => library.check_named_with::<ConcatCommand, Vec<String>>(name),
            None => library.check_named::<ConcatCommand>(name),
        };
        match verdict {
            Ok(()) => {
                println!("  verdict   this host would load it (its constructor may still refuse)\n")
            }
            Err(error) => {
                println!("  verdict   refused: {error}\n");
                all_loadable = false;
            }
        }
    }
    all_loadable
}

/// `text` with its lines after the first indented like the first.
fn indent(text: &str) -> String {
    text.replace('\n', "\n    ")
}
