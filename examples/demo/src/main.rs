//! The mpplugin demo: builds the concat and debug plugins (unless given their
//! paths), loads them by path, and runs them on the std host and on the tokio
//! host.
//!
//! `cargo run -p mpplugin-demo` or `demo <libconcat_plugin.so> <libdebug_plugin.so>`

mod plugins;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use concat_types::{ConcatCommand, Report};
use mpplugin::{Exit, PluginLibrary};

const TIMESTAMPS: u32 = 100_000;

fn main() -> ExitCode {
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
    let (concat_path, debug_path) = match <[PathBuf; 2]>::try_from(paths) {
        Ok([concat, debug]) => (concat, debug),
        Err(paths) if paths.is_empty() => plugins::build()?,
        Err(_) => return Err("usage: demo [<concat plugin file> <debug plugin file>]".into()),
    };

    // SAFETY: these libraries are built from this repository's examples,
    // by the toolchain that built this demo; the loader checks the rest.
    let (concat, debug) = unsafe {
        (
            PluginLibrary::open(&concat_path)?,
            PluginLibrary::open(&debug_path)?,
        )
    };
    println!("Loaded two plugins by path:");
    for library in [&concat, &debug] {
        let info = library.info();
        let argument = info
            .argument
            .as_ref()
            .map_or("no argument".to_owned(), |argument| {
                format!("argument `{}`", argument.name)
            });
        println!(
            "  {} {}: messages `{}`, {argument}",
            info.name, info.version, info.message.name
        );
    }

    println!("\nThe loader refuses what does not fit:");
    match concat.instantiate::<ConcatCommand>() {
        Err(error) => println!("  concat-plugin without its words: {error}"),
        Ok(_) => return Err("the loader accepted the concat plugin without its argument".into()),
    }

    let words = vec!["Hi".to_owned(), "There".to_owned()];

    println!("\nstd host, a thread per plugin:");
    let mut host = mpplugin::Host::<ConcatCommand>::new();
    host.attach(concat.instantiate_with::<ConcatCommand, _>(&words)?);
    host.attach(debug.instantiate::<ConcatCommand>()?);
    for command in script_before_report() {
        host.send(command)?;
    }
    for _ in 0..TIMESTAMPS {
        host.send(ConcatCommand::Time(Instant::now()))?;
    }
    let (reply, reports) = mpsc::sync_channel(2);
    host.send(ConcatCommand::Report(reply))?;
    // The host waits for the replies before it sends anything else.
    print_reports(&reports)?;
    host.send(ConcatCommand::Exit)?;
    print_exits(&host.end());

    println!("\ntokio host, concat as a task, debug on the blocking pool:");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<ConcatCommand>::new();
        host.attach(concat.instantiate_with::<ConcatCommand, _>(&words)?);
        host.attach_blocking(debug.instantiate::<ConcatCommand>()?);
        for command in script_before_report() {
            host.send(command).await?;
        }
        for _ in 0..TIMESTAMPS {
            host.send(ConcatCommand::Time(Instant::now())).await?;
        }
        let (reply, reports) = mpsc::sync_channel(2);
        host.send(ConcatCommand::Report(reply)).await?;
        host.send(ConcatCommand::Exit).await?;
        let exits = host.end().await;
        // Both replies were sent before the plugins exited: no waiting here.
        print_reports(&reports)?;
        print_exits(&exits);
        Ok::<_, Box<dyn Error>>(())
    })?;
    Ok(())
}

fn script_before_report() -> Vec<ConcatCommand> {
    ["Hello", ", ", "World"]
        .into_iter()
        .map(|text| ConcatCommand::Concat(text.to_owned()))
        .collect()
}

fn print_reports(reports: &mpsc::Receiver<Report>) -> Result<(), Box<dyn Error>> {
    let mut received = Vec::new();
    for _ in 0..2 {
        received.push(reports.recv_timeout(Duration::from_secs(60))?);
    }
    received.sort_by_key(|report| report.plugin);
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
