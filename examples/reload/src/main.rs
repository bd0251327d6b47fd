//! The reload example: a host runs a counter plugin, rebuilds it with a
//! change (feature `double`: steps of two) while ticks keep flowing, opens
//! the same path again, which loads the new build, and replaces the running
//! plugin with it. The count carries over (`save` and `restore` in the
//! plugin), no tick is lost, and the new build counts in twos.
//!
//! Run it with `cargo run -p mpplugin-reload-example`.

use std::error::Error;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::Duration;

use mpplugin::build::Build;
use mpplugin::{Handover, Host, PluginLibrary};
use reload_types::{CounterMessage, CounterReport};

/// Builds the counter plugin with `features`, in the profile this example
/// was built in, and returns the path cargo reports for its library.
fn build(features: &str) -> Result<PathBuf, Box<dyn Error>> {
    let mut build = Build::new()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .package("reload-counter")
        .release(!cfg!(debug_assertions));
    if !features.is_empty() {
        build = build.arg("--features").arg(features);
    }
    let built = build.run()?;
    Ok(built.library("reload-counter")?.to_owned())
}

fn open(path: &PathBuf) -> Result<PluginLibrary, Box<dyn Error>> {
    // SAFETY: built just now from this repository's source by the same
    // toolchain; host and plugin share the system allocator and one
    // definition of `CounterMessage` (the loader compares its shape too).
    Ok(unsafe { PluginLibrary::open(path) }?)
}

fn report(host: &mut Host<CounterMessage>) -> Result<CounterReport, Box<dyn Error>> {
    let (reply, answer) = sync_channel(1);
    host.send(CounterMessage::Report(reply))?;
    Ok(answer.recv()?)
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("building the counter plugin (step 1)");
    let path = build("")?;
    let mut host = Host::<CounterMessage>::new();
    let id = host.attach_with_capacity(open(&path)?.instantiate::<CounterMessage>()?, 64);
    for _ in 0..10 {
        host.send(CounterMessage::Tick)?;
    }
    let before = report(&mut host)?;
    println!("{}: count {} after 10 ticks", before.build, before.count);

    println!("rebuilding it with feature `double` (step 2) while ticks flow");
    let rebuild = thread::spawn(|| build("double").map_err(|error| error.to_string()));
    let mut during = 0;
    while !rebuild.is_finished() {
        host.send(CounterMessage::Tick)?;
        during += 1;
        // An example's pace, not a synchronisation: ticks flow until the
        // build is done.
        thread::sleep(Duration::from_millis(2));
    }
    let rebuilt = rebuild.join().map_err(|_| "the build thread panicked")??;
    if rebuilt != path {
        return Err(format!(
            "cargo moved the plugin: {} then {}",
            path.display(),
            rebuilt.display()
        )
        .into());
    }
    // The same path, a new file: opening it again loads the new build.
    let replaced = host.replace(id, open(&path)?.instantiate::<CounterMessage>()?);
    for _ in 0..10 {
        host.send(CounterMessage::Tick)?;
    }
    let after = report(&mut host)?;
    let (old, handover) = replaced.wait_handover();
    println!(
        "reloaded {} ({} ticks sent while it was rebuilt): the old build handled {} messages; {handover}",
        id, during, old.handled
    );
    let carried = 10 + during;
    println!(
        "{}: count {} = {carried} carried over + 2 x 10 ticks",
        after.build, after.count
    );
    if handover != Handover::Carried || after.count != carried + 20 || old.handled != carried + 1 {
        return Err("the count did not carry over, or a tick was lost".into());
    }
    for exit in host.end() {
        println!("{exit}");
    }
    println!("nothing lost, the count carried over");
    Ok(())
}
