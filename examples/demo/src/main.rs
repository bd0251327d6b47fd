//! The mpplugin demo: builds the concat and debug plugins (unless given the
//! folder that holds them), loads every plugin of that folder, and runs them
//! on the std host, on the tokio host, and each in a child process of its
//! own on the process host. The same plugins, unchanged, answer on all three
//! through the `Reply` in `ConcatCommand::Report`.
//!
//! `cargo run -p mpplugin-demo` or `demo <folder of plugin files>`

mod logger;
mod plugins;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use concat_types::{ConcatCommand, Report};
use mpplugin::reply::{self, Replies};
use mpplugin::{Exit, LoadError, LoadedPlugin, PluginId, PluginInfo, PluginLibrary};

const TIMESTAMPS: u32 = 100_000;

fn main() -> ExitCode {
    // Before the first plugin is loaded or not (the plugins' levels follow
    // the host's whenever they change), and before `ChildMain`, so that
    // plugins in child processes log to stderr too.
    logger::install();
    // In a plugin's child process (the process host starts this program in
    // child mode) this runs the plugin and never returns.
    mpplugin::process::ChildMain::<ConcatCommand>::new()
        .argument::<Vec<String>>()
        .run();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let folder = match <[PathBuf; 1]>::try_from(paths) {
        Ok([folder]) => folder,
        Err(paths) if paths.is_empty() => plugins::build()?,
        Err(_) => return Err("usage: demo [<folder of plugin files>]".into()),
    };

    // Every library of the folder, each plugin of each one.
    // SAFETY: the libraries there are built from this repository's
    // examples, by the toolchain that built this demo; the loader checks
    // the rest.
    let mut libraries = Vec::new();
    let mut refused = Vec::new();
    for (path, opened) in unsafe { PluginLibrary::open_dir(&folder) }? {
        match opened {
            Ok(library) => libraries.push(library),
            // One refusal does not stop the others. (Cargo puts the
            // attribute's own proc-macro library beside the plugins.)
            Err(error) => refused.push((path, error)),
        }
    }
    // Cargo's folder holds whatever else the workspace built: a plugin for
    // another message type is listed and left alone, not attached.
    let (plugins, others): (Vec<(&PluginLibrary, &PluginInfo)>, Vec<_>) = libraries
        .iter()
        .flat_map(|library| library.plugins().iter().map(move |info| (library, info)))
        .partition(|(library, info)| fits(library, info));
    let mut from: Vec<&str> = plugins.iter().map(|(_, info)| info.name.as_str()).collect();
    from.dedup();
    println!(
        "Loaded {} plugins from {} libraries in {}:",
        plugins.len(),
        from.len(),
        folder.display()
    );
    for (_, info) in &plugins {
        let argument = info
            .argument
            .as_ref()
            .map_or("no argument".to_owned(), |argument| {
                format!("argument `{}`", argument.name)
            });
        println!(
            "  {} {} `{}`: messages `{}`, {argument}",
            info.name, info.version, info.plugin_type, info.message.name
        );
    }
    for (_, info) in &others {
        println!(
            "  left alone {} `{}`: messages `{}`: does not fit this host",
            info.name, info.plugin_type, info.message.name
        );
    }
    for (path, error) in &refused {
        let name = path.file_name().unwrap_or(path.as_os_str());
        println!("  skipped {}: {error}", name.to_string_lossy());
    }
    let concat = library_of(&libraries, "concat-plugin", &folder)?;
    let debug = library_of(&libraries, "debug-plugin", &folder)?;

    println!("\nThe loader refuses what does not fit:");
    match concat.instantiate::<ConcatCommand>() {
        Err(error) => println!("  concat-plugin without its words: {error}"),
        Ok(_) => return Err("the loader accepted the concat plugin without its argument".into()),
    }
    match debug.instantiate::<ConcatCommand>() {
        Err(error @ LoadError::AmbiguousPlugin { .. }) => {
            println!("  debug-plugin without a name: {error}")
        }
        other => return Err(format!("debug-plugin without a name: {other:?}").into()),
    }

    let words = vec!["Hi".to_owned(), "There".to_owned()];

    println!("\nstd host, a thread per plugin:");
    let mut host = mpplugin::Host::<ConcatCommand>::new();
    for (library, info) in &plugins {
        host.attach(instantiate(library, info, &words)?);
    }
    converse(plugins.len(), |command| Ok(host.send(command).map(drop)?))?;
    print_exits(&host.end());

    println!("\ntokio host, concat and kinds as tasks, debug on a thread of its own:");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<ConcatCommand>::new();
        for (library, info) in &plugins {
            let plugin = instantiate(library, info, &words)?;
            if info.plugin_type == "Debug" {
                host.attach_blocking(plugin);
            } else {
                host.attach(plugin);
            }
        }
        for command in script_before_report() {
            host.send(command).await?;
        }
        let (reply, reports) = reply::channel();
        host.send(ConcatCommand::Report(reply)).await?;
        host.send(ConcatCommand::Exit).await?;
        let exits = host.end().await;
        // Every reply was sent before the plugins exited: no waiting here.
        print_reports(&reports, plugins.len())?;
        print_exits(&exits);
        Ok::<_, Box<dyn Error>>(())
    })?;

    println!("\nprocess host, each plugin in a child process of its own:");
    let mut host = mpplugin::process::Host::<ConcatCommand>::new();
    for (_, info) in &plugins {
        let id = attach_process(&mut host, info, &words)?;
        let pid = host.pid(id).ok_or("an attached plugin has a child")?;
        println!("  {} `{}` in process {pid}", info.name, info.plugin_type);
    }
    // The same `Reply` as in-process: each child answers over its socket.
    converse(plugins.len(), |command| Ok(host.send(command).map(drop)?))?;
    print_exits(&host.end());
    Ok(())
}

/// Plugin `info` in a child process: by its name, with the words if it
/// takes an argument.
fn attach_process(
    host: &mut mpplugin::process::Host<ConcatCommand>,
    info: &PluginInfo,
    words: &Vec<String>,
) -> Result<PluginId, mpplugin::process::AttachError> {
    match info.argument {
        Some(_) => host.attach_named_with(&info.path, &info.plugin_type, words),
        None => host.attach_named(&info.path, &info.plugin_type),
    }
}

/// The library of package `name` among those opened from `folder`.
fn library_of<'a>(
    libraries: &'a [PluginLibrary],
    name: &str,
    folder: &Path,
) -> Result<&'a PluginLibrary, Box<dyn Error>> {
    libraries
        .iter()
        .find(|library| library.info().name == name)
        .ok_or_else(|| format!("no plugin library of `{name}` in {}", folder.display()).into())
}

/// Whether plugin `info` of `library` takes this host's messages (and, if
/// it takes an argument, the words).
fn fits(library: &PluginLibrary, info: &PluginInfo) -> bool {
    match info.argument {
        Some(_) => library
            .check_named_with::<ConcatCommand, Vec<String>>(&info.plugin_type)
            .is_ok(),
        None => library
            .check_named::<ConcatCommand>(&info.plugin_type)
            .is_ok(),
    }
}

/// Plugin `info` of `library`, by its name: with the words if it takes an
/// argument.
fn instantiate(
    library: &PluginLibrary,
    info: &PluginInfo,
    words: &Vec<String>,
) -> Result<LoadedPlugin<ConcatCommand>, LoadError> {
    match info.argument {
        Some(_) => library.instantiate_named_with::<ConcatCommand, _>(&info.plugin_type, words),
        None => library.instantiate_named::<ConcatCommand>(&info.plugin_type),
    }
}

/// What every host sends before it asks for reports: three texts, then
/// [`TIMESTAMPS`] timestamps, each taken as the iterator hands it out, just
/// before its send.
fn script_before_report() -> impl Iterator<Item = ConcatCommand> {
    ["Hello", ", ", "World"]
        .into_iter()
        .map(|text| ConcatCommand::Concat(text.to_owned()))
        .chain((0..TIMESTAMPS).map(|_| ConcatCommand::Time(SystemTime::now())))
}

/// What the std and process hosts say to their plugins: the script, a
/// request for reports, which it waits for and prints before it sends
/// anything else, and the request to exit.
fn converse(
    plugins: usize,
    mut send: impl FnMut(ConcatCommand) -> Result<(), Box<dyn Error>>,
) -> Result<(), Box<dyn Error>> {
    for command in script_before_report() {
        send(command)?;
    }
    let (reply, reports) = reply::channel();
    send(ConcatCommand::Report(reply))?;
    print_reports(&reports, plugins)?;
    send(ConcatCommand::Exit)
}

fn print_reports(reports: &Replies<Report>, count: usize) -> Result<(), Box<dyn Error>> {
    let mut received = Vec::new();
    for _ in 0..count {
        received.push(reports.recv_timeout(Duration::from_secs(60))?);
    }
    received.sort_by(|a, b| a.plugin.cmp(&b.plugin));
    for report in received {
        println!("  {}: {}", report.plugin, report.text);
    }
    Ok(())
}

fn print_exits(exits: &[Exit]) {
    for exit in exits {
        println!("  exit: {exit}");
    }
}
