//! What a reload costs, measured once for the README:
//!
//! - the pause at a swap, sender side: one `replace` call against one
//!   `send` with no swap (a std host, an in-process plugin);
//! - the pause at a swap, plugin side: the gap between the last message the
//!   old plugin handles and the first the new one handles, against the gap
//!   between two messages with no swap;
//! - the memory kept per reload: the resident set before and after 100
//!   reloads of the reload example's counter plugin and of the demo's
//!   concat plugin (built in release), each a new file at the same path,
//!   loaded from its private copy and swapped in (the counter's state
//!   carried over; concat declares none).
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench reload
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use concat_types::ConcatCommand;
use mpplugin::build::Build;
use mpplugin::{Handover, Host, Message, Plugin, PluginLibrary};
use reload_types::CounterMessage;

/// Records when it handles each message.
struct Stamp(Arc<Mutex<Vec<Instant>>>);

impl Plugin<u64> for Stamp {
    fn handle_message(&mut self, _: Message<u64>) -> Option<u8> {
        self.0.lock().unwrap().push(Instant::now());
        None
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn sender_side() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut host = Host::<u64>::new();
    let id = host.attach(Stamp(Arc::clone(&log)));
    let (mut sends, mut replaces) = (Vec::new(), Vec::new());
    for round in 0..2000 {
        let start = Instant::now();
        host.send(round).unwrap();
        sends.push(start.elapsed());
        if round % 2 == 0 {
            let plugin = Stamp(Arc::clone(&log));
            let start = Instant::now();
            let replaced = host.replace(id, plugin);
            replaces.push(start.elapsed());
            drop(replaced);
        }
    }
    host.end();
    println!(
        "sender side: replace {:?} (median of {}), send with no swap {:?} (median of {})",
        median(replaces.clone()),
        replaces.len(),
        median(sends.clone()),
        sends.len()
    );
}

fn plugin_side() {
    let mut gaps_swap = Vec::new();
    let mut gaps_plain = Vec::new();
    for _ in 0..200 {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut host = Host::<u64>::new();
        let id = host.attach(Stamp(Arc::clone(&log)));
        for n in 0..100 {
            host.send(n).unwrap();
        }
        let replaced = host.replace(id, Stamp(Arc::clone(&log)));
        for n in 100..200 {
            host.send(n).unwrap();
        }
        replaced.wait();
        host.end();
        let stamps = log.lock().unwrap();
        gaps_swap.push(stamps[100] - stamps[99]);
        gaps_plain.push(stamps[150] - stamps[149]);
    }
    println!(
        "plugin side: gap across a swap {:?}, between two messages with no swap {:?} (medians of {})",
        median(gaps_swap),
        median(gaps_plain),
        200
    );
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// The release build of `package`'s library, in the workspace.
fn release_library(package: &str) -> std::path::PathBuf {
    let built = Build::new()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .package(package)
        .release(true)
        .run()
        .unwrap();
    built.library(package).unwrap().to_owned()
}

/// The resident set kept by 100 reloads of `library`: each a new file at
/// the same path, opened (from its private copy), made into a plugin by
/// `instantiate` and swapped in for the running one, whose handover
/// `handover` must be.
fn memory_per_reload<T: Send + Sync + 'static>(
    what: &str,
    library: &Path,
    instantiate: impl Fn(&PluginLibrary) -> mpplugin::LoadedPlugin<T>,
    message: impl Fn() -> T,
    handover: Handover,
) {
    let size = std::fs::metadata(library).unwrap().len();
    let dir = std::env::temp_dir().join(format!("mpplugin-reload-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(library.file_name().unwrap());
    let install = |path: &Path| {
        let staged = path.with_extension("staged");
        std::fs::copy(library, &staged).unwrap();
        std::fs::rename(&staged, path).unwrap();
    };
    let open = |path: &Path| {
        // SAFETY: built just now from this repository, same toolchain and
        // allocator.
        unsafe { PluginLibrary::open(path) }.unwrap()
    };
    install(&path);
    let mut host = Host::<T>::new();
    let id = host.attach(instantiate(&open(&path)));
    // One reload first, so that the growth measured is per reload, not the
    // first one's setup.
    install(&path);
    let warm = host.replace(id, instantiate(&open(&path)));
    assert_eq!(warm.wait_handover().1, handover);
    let before = resident_bytes();
    for _ in 0..100 {
        host.send(message()).unwrap();
        install(&path);
        let replaced = host.replace(id, instantiate(&open(&path)));
        assert_eq!(replaced.wait_handover().1, handover);
    }
    let after = resident_bytes();
    host.end();
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "memory, {what}: resident set +{} KiB over 100 reloads, {} KiB per reload (the library file: {} KiB)",
        (after - before) / 1024,
        (after - before) / 1024 / 100,
        size / 1024
    );
}

fn main() {
    sender_side();
    plugin_side();
    memory_per_reload(
        "the reload example's counter",
        &release_library("reload-counter"),
        |library| library.instantiate::<CounterMessage>().unwrap(),
        || CounterMessage::Tick,
        Handover::Carried,
    );
    // The demo's concat plugin, which declares no state to carry.
    let words = vec!["Hi".to_owned(), "There".to_owned()];
    memory_per_reload(
        "the demo's concat plugin",
        &release_library("concat-plugin"),
        |library| {
            library
                .instantiate_with::<ConcatCommand, _>(&words)
                .unwrap()
        },
        || ConcatCommand::Concat("x".to_owned()),
        Handover::NotSaved,
    );
}
