//! Reloading: a plugin file rebuilt at a path already loaded is loaded anew
//! (from a private copy), with every check, and a host replaces the running
//! plugin with the new build under a stream of messages; the two builds are
//! real builds of fixture `reload`, the second changed (feature `second`).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use fixture_types::Event;
use mpplugin::tokio::Execution;
use mpplugin::{Ending, Exit, Handover, Host, LoadError, LoadedPlugin, PluginId, PluginLibrary};
use mpplugin_tests::fixtures::{reload_build, reload_builds, report};
use mpplugin_tests::probe::{Probe, Record};
use mpplugin_tests::scratch::Scratch;
use mpplugin_tests::watchdog::watchdog;

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test.
    unsafe { PluginLibrary::open(path) }
}

/// A directory of the test named `test`'s own, removed when the guard
/// returned is dropped: keep it until the test ends.
fn scratch(test: &str) -> Scratch {
    Scratch::new(&format!("reload-tests-{test}"))
}

/// Puts `build` at `path` as a build does: a new file renamed over the old.
fn install(build: &Path, path: &Path) {
    let staged = path.with_extension("staged");
    std::fs::copy(build, &staged).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

fn tally(library: &PluginLibrary) -> LoadedPlugin<Event> {
    library.instantiate::<Event>().unwrap()
}

/// Which build a plugin is, and what it has seen: "first: " or "second: ".
fn which(plugin: &mut LoadedPlugin<Event>) -> String {
    report(plugin)
}

/// The distinct files mapped into this process whose path contains `name`.
fn mapped(name: &str) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut files: Vec<&str> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5).map(|_| line))
        .map(|line| line[line.find('/').unwrap_or(line.len())..].trim())
        .filter(|path| path.contains(name))
        .collect();
    files.sort_unstable();
    files.dedup();
    files.len()
}

#[test]
fn an_unchanged_path_returns_the_library_already_loaded() {
    let (first, _) = reload_builds();
    let dir = scratch("unchanged");
    let path = dir.join("libunchanged_tally.so");
    install(first, &path);
    let library = open(&path).unwrap();
    assert_eq!(mapped("libunchanged_tally.so"), 1);
    // Unreadable now, but unchanged: the library loaded is returned without
    // the file being read again, let alone copied.
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o000);
    std::fs::set_permissions(&path, permissions).unwrap();
    let again = open(&path).unwrap();
    assert_eq!(mapped("libunchanged_tally.so"), 1);
    assert_eq!(which(&mut tally(&again)), "first: ");
    assert_eq!(which(&mut tally(&library)), "first: ");
}

#[test]
fn a_rebuilt_file_at_a_loaded_path_loads_the_new_build_and_the_old_one_runs_on() {
    let (first, second) = reload_builds();
    let dir = scratch("rebuilt");
    let path = dir.join("librebuilt_tally.so");
    install(first, &path);
    let mut old = tally(&open(&path).unwrap());
    mpplugin::Plugin::handle_message(&mut old, Event::Add(1).into());
    install(second, &path);
    let library = open(&path).unwrap();
    assert_eq!(library.info().path, path, "reported as the path given");
    let mut new = tally(&library);
    assert_eq!(which(&mut new), "second: ");
    assert_eq!(which(&mut old), "first: 1", "the old build stays loaded");
    // Two libraries mapped, the copy's file already removed.
    assert_eq!(mapped("librebuilt_tally.so"), 2);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let copy = maps
        .lines()
        .find(|line| line.contains("librebuilt_tally.so") && !line.contains(path.to_str().unwrap()))
        .expect("the copy is mapped");
    assert!(copy.ends_with("(deleted)"), "{copy}");
    // Unchanged since: the new build, not another copy.
    assert_eq!(which(&mut tally(&open(&path).unwrap())), "second: ");
    assert_eq!(mapped("librebuilt_tally.so"), 2);
}

#[test]
fn a_rebuilt_file_that_others_can_write_to_is_refused() {
    let (first, second) = reload_builds();
    let dir = scratch("writable");
    let path = dir.join("libwritable_tally.so");
    install(first, &path);
    open(&path).unwrap();
    let staged = path.with_extension("staged");
    std::fs::copy(second, &staged).unwrap();
    let mut permissions = std::fs::metadata(&staged).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o666);
    std::fs::set_permissions(&staged, permissions.clone()).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    match open(&path) {
        Err(LoadError::WritableByOthers {
            path: reported,
            writable,
            ..
        }) => {
            assert_eq!(reported, path);
            assert_eq!(writable, path);
        }
        Err(other) => panic!("expected WritableByOthers, got {other}"),
        Ok(library) => panic!("loaded {}", which(&mut tally(&library))),
    }
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o644);
    std::fs::set_permissions(&path, permissions).unwrap();
    assert_eq!(which(&mut tally(&open(&path).unwrap())), "second: ");
}

#[test]
fn a_rebuilt_file_cut_short_is_refused_at_the_path_given() {
    let (first, second) = reload_builds();
    let dir = scratch("truncated");
    let path = dir.join("libtruncated_tally.so");
    install(first, &path);
    open(&path).unwrap();
    let staged = path.with_extension("staged");
    let bytes = std::fs::read(second).unwrap();
    std::fs::write(&staged, &bytes[..4096]).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    match open(&path) {
        Err(LoadError::NotALibrary { path: reported, .. }) => assert_eq!(reported, path),
        Err(other) => panic!("expected NotALibrary, got {other}"),
        Ok(_) => panic!("a truncated file was loaded"),
    }
}

#[test]
fn a_hundred_reloads_in_one_process_each_load_the_build_at_the_path() {
    let builds = reload_builds();
    let dir = scratch("hundred");
    let path = dir.join("libhundred_tally.so");
    let mut plugins = Vec::new();
    for round in 0..100 {
        let (build, name) = if round % 2 == 0 {
            (builds.0, "first")
        } else {
            (builds.1, "second")
        };
        install(build, &path);
        let mut plugin = tally(&open(&path).unwrap());
        mpplugin::Plugin::handle_message(&mut plugin, Event::Add(round).into());
        assert_eq!(which(&mut plugin), format!("{name}: {round}"));
        plugins.push((name, round, plugin));
    }
    assert_eq!(mapped("libhundred_tally.so"), 100);
    for (name, round, mut plugin) in plugins {
        assert_eq!(which(&mut plugin), format!("{name}: {round}"));
    }
}

// ---- a host replaces a running plugin with the rebuilt one ----

/// What a build reports after handling `values` in order.
fn tallied(build: &str, values: impl IntoIterator<Item = u64>) -> String {
    let values: Vec<String> = values.into_iter().map(|value| value.to_string()).collect();
    format!("{build}: {}", values.join(","))
}

/// A path holding the first build, loaded, in the test's directory (the
/// guard); the second build put there, to be loaded by the caller after.
fn first_then_rebuilt(test: &str) -> (Scratch, PathBuf, LoadedPlugin<Event>) {
    first_then(test, "second")
}

/// A path holding the first build, loaded, in the test's directory (the
/// guard); build `rebuilt` put there.
fn first_then(test: &str, rebuilt: &str) -> (Scratch, PathBuf, LoadedPlugin<Event>) {
    let dir = scratch(test);
    let path = dir.join(format!("lib{test}_tally.so"));
    install(reload_build("first"), &path);
    let plugin = tally(&open(&path).unwrap());
    install(reload_build(rebuilt), &path);
    (dir, path, plugin)
}

fn replies() -> (SyncSender<String>, Receiver<String>) {
    // Room for every reply: no plugin ever waits on the test.
    sync_channel(8)
}

/// The old plugin's exit after handling 200 values and a report, the new
/// one's after 200 more and a report, the old values carried over: nothing
/// lost, duplicated or moved across the swap.
fn assert_swapped(
    id: PluginId,
    (old, handover): &(Exit, Handover),
    exits: &[Exit],
    answers: &Receiver<String>,
) {
    assert_eq!(*handover, Handover::Carried);
    assert_eq!(answers.recv().unwrap(), tallied("first", 0..200));
    assert_eq!(answers.recv().unwrap(), tallied("second", 0..400));
    assert_eq!(
        (old.id, &old.ending, old.handled, old.unhandled),
        (id, &Ending::Finished, 201, 0)
    );
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_eq!(
        (exits[0].id, &exits[0].ending, exits[0].handled),
        (id, &Ending::Finished, 201)
    );
}

#[test]
fn the_std_host_replaces_a_plugin_mid_stream_at_capacity_one_losing_nothing() {
    let (_dir, path, plugin) = first_then_rebuilt("std_swap");
    let mut host = Host::<Event>::new();
    let id = host.attach_with_capacity(plugin, 1);
    let (reply, answers) = replies();
    for value in 0..200 {
        host.send(Event::Add(value)).unwrap();
    }
    host.send(Event::Report(reply.clone())).unwrap();
    let replaced = host.replace(id, tally(&open(&path).unwrap()));
    for value in 200..400 {
        host.send(Event::Add(value)).unwrap();
    }
    host.send(Event::Report(reply)).unwrap();
    let old = replaced.wait_handover();
    let exits = host.end();
    assert_swapped(id, &old, &exits, &answers);
}

fn tokio_swap(test: &str, execution: Execution) {
    let (_dir, path, plugin) = first_then_rebuilt(test);
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<Event>::new();
        let id = host.attach_with(plugin, 1, execution);
        let (reply, answers) = replies();
        for value in 0..200 {
            host.send(Event::Add(value)).await.unwrap();
        }
        host.send(Event::Report(reply.clone())).await.unwrap();
        let replaced = host.replace(id, tally(&open(&path).unwrap())).await;
        for value in 200..400 {
            host.send(Event::Add(value)).await.unwrap();
        }
        host.send(Event::Report(reply)).await.unwrap();
        let exit = replaced.exit().await;
        let handover = replaced.handover().expect("the swap was made");
        let exits = host.end().await;
        assert_swapped(id, &(exit, handover), &exits, &answers);
    });
}

#[test]
fn the_tokio_host_replaces_a_task_plugin_mid_stream_at_capacity_one_losing_nothing() {
    tokio_swap("tokio_task_swap", Execution::Task);
}

#[test]
fn the_tokio_host_replaces_a_blocking_plugin_mid_stream_at_capacity_one_losing_nothing() {
    tokio_swap("tokio_blocking_swap", Execution::Blocking);
}

#[test]
fn a_replace_with_nothing_sent_after_it_is_made_without_a_later_message() {
    let (_dir, path, plugin) = first_then_rebuilt("idle_swap");
    let mut host = Host::<Event>::new();
    let id = host.attach_with_capacity(plugin, 1);
    host.send(Event::Add(1)).unwrap();
    // Nothing follows: the worker, asleep or not, makes the swap by itself.
    let done = mpplugin_tests::watchdog::watchdog(
        "a swap with no message after it (a lost wake-up?)".to_owned(),
        std::time::Duration::from_secs(60),
    );
    let old = host.replace(id, tally(&open(&path).unwrap())).wait();
    drop(done);
    assert_eq!((old.handled, &old.ending), (1, &Ending::Finished));
    let (reply, answers) = replies();
    host.send(Event::Report(reply)).unwrap();
    assert_eq!(answers.recv().unwrap(), tallied("second", [1]));
    assert_eq!(host.end()[0].handled, 1);
}

/// Ends the running plugin with `ending`, sends two values after it, then
/// replaces it: whether the worker had wound up by then or not, the old
/// exit says how it ended and counts what reached it after, and the new
/// plugin takes over with the same id.
fn replace_ended(test: &str, ending: Event, expected: impl Fn(&Ending) -> bool, wait_gone: bool) {
    let (_dir, path, plugin) = first_then_rebuilt(test);
    let mut host = Host::<Event>::new();
    let id = host.attach_with_capacity(plugin, 1);
    host.send(Event::Add(1)).unwrap();
    host.send(ending).unwrap();
    let mut reached = 0;
    for value in [2, 3] {
        reached += u64::from(host.send(Event::Add(value)).is_ok());
    }
    if wait_gone {
        // Until a send finds the plugin gone: then its worker has ended.
        while host.send(Event::Add(9)).is_ok() {
            reached += 1;
        }
    }
    let (old, handover) = host
        .replace(id, tally(&open(&path).unwrap()))
        .wait_handover();
    assert!(expected(&old.ending), "{old:?}");
    assert_eq!(
        handover,
        Handover::OldEnded,
        "an ended plugin hands nothing over"
    );
    assert_eq!((old.id, old.handled, old.unhandled), (id, 2, reached));
    let (reply, answers) = replies();
    host.send(Event::Add(4)).unwrap();
    host.send(Event::Report(reply)).unwrap();
    assert_eq!(answers.recv().unwrap(), tallied("second", [4]));
    let exits = host.end();
    assert_eq!((exits[0].id, exits[0].handled), (id, 2));
}

#[test]
fn a_plugin_that_detached_and_is_gone_is_replaced_and_keeps_its_id() {
    replace_ended(
        "detached_gone",
        Event::Stop(3),
        |ending| *ending == Ending::Detached(3),
        true,
    );
}

#[test]
fn a_plugin_that_panicked_and_is_gone_is_replaced_and_keeps_its_id() {
    let panicked = |ending: &Ending| matches!(ending, Ending::Panicked(message) if message.contains("first build panicked"));
    replace_ended("panicked_gone", Event::Panic, panicked, true);
}

#[test]
fn a_plugin_replaced_as_it_detaches_counts_what_reached_it_after() {
    for round in 0..20 {
        replace_ended(
            &format!("detaching_{round}"),
            Event::Stop(3),
            |ending| *ending == Ending::Detached(3),
            false,
        );
    }
}

// ---- what survives a reload ----

/// The fixture's `SAVE_PANICS` and `RESTORE_PANICS`: values that make its
/// `save` or `restore` panic.
const SAVE_PANICS: u64 = 666;
const RESTORE_PANICS: u64 = 777;

/// Sends `values` to the first build, replaces it with build `rebuilt`,
/// sends 5, and returns the handover and the new plugin's report; the
/// host runs on throughout.
fn reload_state(test: &str, rebuilt: &str, values: &[u64]) -> (Handover, Exit, String) {
    let (_dir, path, plugin) = first_then(test, rebuilt);
    let mut host = Host::<Event>::new();
    let id = host.attach_with_capacity(plugin, 1);
    for value in values {
        host.send(Event::Add(*value)).unwrap();
    }
    let (old, handover) = host
        .replace(id, tally(&open(&path).unwrap()))
        .wait_handover();
    let (reply, answers) = replies();
    host.send(Event::Add(5)).unwrap();
    host.send(Event::Report(reply)).unwrap();
    let report = answers.recv().unwrap();
    let exits = host.end();
    assert_eq!(
        (exits[0].id, &exits[0].ending, exits[0].handled),
        (id, &Ending::Finished, 2)
    );
    (handover, old, report)
}

#[test]
fn a_state_of_another_shape_is_not_handed_over_and_the_new_build_starts_fresh() {
    let (handover, old, report) = reload_state("reshaped", "reshaped", &[1, 2]);
    match &handover {
        Handover::ShapeMismatch(difference) => {
            assert!(
                difference.contains("u64") && difference.contains("i64"),
                "{difference}"
            );
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    assert_eq!((old.handled, old.drop_panic), (2, None));
    assert_eq!(report, tallied("second", [5]));
}

#[test]
fn a_new_build_without_restore_starts_fresh_and_says_so() {
    let (handover, _, report) = reload_state("stateless_new", "stateless", &[1, 2]);
    assert_eq!(handover, Handover::NotRestored);
    assert_eq!(report, tallied("second", [5]));
}

#[test]
fn an_old_build_without_save_hands_nothing_over_and_says_so() {
    let dir = scratch("stateless_old");
    let path = dir.join("libstateless_old_tally.so");
    install(reload_build("stateless"), &path);
    let mut host = Host::<Event>::new();
    let id = host.attach_with_capacity(tally(&open(&path).unwrap()), 1);
    host.send(Event::Add(1)).unwrap();
    install(reload_build("first"), &path);
    let (old, handover) = host
        .replace(id, tally(&open(&path).unwrap()))
        .wait_handover();
    assert_eq!((handover, old.handled), (Handover::NotSaved, 1));
    let (reply, answers) = replies();
    host.send(Event::Report(reply)).unwrap();
    assert_eq!(answers.recv().unwrap(), tallied("first", []));
    host.end();
}

#[test]
fn a_panic_in_save_is_contained_reported_and_the_new_build_starts_fresh() {
    let (handover, _, report) = reload_state("save_panics", "second", &[1, SAVE_PANICS]);
    assert_eq!(
        handover,
        Handover::SavePanicked("first build's save panicked on request".to_owned())
    );
    assert_eq!(report, tallied("second", [5]));
}

#[test]
fn a_panic_in_restore_is_contained_reported_and_the_new_build_runs_as_constructed() {
    let (handover, _, report) = reload_state("restore_panics", "second", &[1, RESTORE_PANICS]);
    assert_eq!(
        handover,
        Handover::RestorePanicked("second build's restore panicked on request".to_owned())
    );
    assert_eq!(report, tallied("second", [5]));
}

#[test]
fn the_tokio_host_replaces_a_plugin_that_detached_and_is_gone() {
    let (_dir, path, plugin) = first_then_rebuilt("tokio_detached_gone");
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<Event>::new();
        let id = host.attach_with(plugin, 1, Execution::Task);
        host.send(Event::Add(1)).await.unwrap();
        host.send(Event::Stop(4)).await.unwrap();
        let mut reached = 0;
        // Until a send finds the plugin gone: then its task has ended.
        while host.send(Event::Add(9)).await.is_ok() {
            reached += 1;
        }
        let replaced = host.replace(id, tally(&open(&path).unwrap())).await;
        let old = replaced.exit().await;
        assert_eq!(replaced.handover(), Some(Handover::OldEnded));
        assert_eq!(
            (old.id, &old.ending, old.handled, old.unhandled),
            (id, &Ending::Detached(4), 2, reached)
        );
        let (reply, answers) = replies();
        host.send(Event::Add(5)).await.unwrap();
        host.send(Event::Report(reply)).await.unwrap();
        assert_eq!(answers.recv().unwrap(), tallied("second", [5]));
        let exits = host.end().await;
        assert_eq!((exits[0].id, exits[0].handled), (id, 2));
    });
}

/// Tells the name of the thread it handles each message on.
struct Whereabouts(SyncSender<String>);

impl mpplugin::Plugin<u64> for Whereabouts {
    fn handle_message(&mut self, _: mpplugin::Message<u64>) -> Option<u8> {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        let _ = self.0.send(name);
        None
    }
}

/// A plugin that detached and is gone is replaced by a new worker, which
/// runs the new plugin as the old one ran: on a thread of its own (named
/// for the plugin) for `Blocking`, on the runtime's workers for `Task`.
fn tokio_successor_of_an_ended_plugin_runs_as_it_ran(execution: Execution) {
    let _watchdog = watchdog(
        format!("a replace of an ended plugin ({execution:?})"),
        ABANDON_LIMIT,
    );
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<u64>::new();
        let id = host.attach_with(Probe::new().0.detach_at(0, 1), 4, execution);
        host.send(0).await.unwrap();
        // Until a send finds the plugin gone: then its worker has ended.
        while host.send(9).await.is_ok() {}
        let (told, whereabouts) = sync_channel(1);
        let replaced = host.replace(id, Whereabouts(told)).await;
        assert_eq!(replaced.handover(), Some(Handover::OldEnded));
        host.send(1).await.unwrap();
        let thread = whereabouts.recv().unwrap();
        let own_thread = format!("mpplugin {}", std::any::type_name::<Whereabouts>());
        match execution {
            Execution::Blocking => assert_eq!(thread, own_thread),
            Execution::Task => assert_ne!(thread, own_thread),
        }
        let exits = host.end().await;
        assert_eq!((exits[0].id, exits[0].handled), (id, 1));
    });
}

#[test]
fn the_tokio_host_runs_the_successor_of_an_ended_task_plugin_as_a_task() {
    tokio_successor_of_an_ended_plugin_runs_as_it_ran(Execution::Task);
}

#[test]
fn the_tokio_host_runs_the_successor_of_an_ended_blocking_plugin_on_its_own_thread() {
    tokio_successor_of_an_ended_plugin_runs_as_it_ran(Execution::Blocking);
}

// ---- a swap its host abandons: the new plugin never runs ----

/// Says when it enters its handler, then waits for a go: an old plugin
/// held in the middle of a message, its swap waiting behind it.
struct Holding {
    entered: SyncSender<()>,
    go: Receiver<()>,
}

impl mpplugin::Plugin<u64> for Holding {
    fn handle_message(&mut self, _: mpplugin::Message<u64>) -> Option<u8> {
        let _ = self.entered.send(());
        // A closed gate lets everything through.
        let _ = self.go.recv();
        None
    }

    fn name(&self) -> &str {
        "holding"
    }
}

/// The old plugin, the receiver its handler tells on entering, and its go.
fn holding() -> (Holding, Receiver<()>, std::sync::mpsc::Sender<()>) {
    let (entered, entries) = sync_channel(1);
    let (go, gate) = std::sync::mpsc::channel();
    (Holding { entered, go: gate }, entries, go)
}

/// The new plugin: it records what it handles, and its drop panics, so that
/// the exit of an abandoned swap shows it was dropped through its own code.
fn successor() -> (Probe, std::sync::Arc<Record>) {
    let (probe, record) = Probe::new();
    (probe.panic_on_drop(), record)
}

/// An idle plugin whose drop closes the receiver returned. Attached last:
/// a host being dropped closes the queues in attach order, and the
/// witness's worker drops it once its own queue is closed, so its drop
/// shows that every queue is closed (attached first, it could be dropped
/// while the others are still open).
fn witness() -> (Probe, Receiver<()>) {
    let (held, dropped) = sync_channel(0);
    (Probe::new().0.holding(held), dropped)
}

/// What a swap abandoned with its host reports: the new plugin's exit,
/// abandoned before it handled anything, its drop's panic contained and
/// reported, and the handover that never took place; and the new plugin
/// was dropped without being called.
fn assert_abandoned(id: PluginId, (exit, handover): (Exit, Handover), new: &Record) {
    assert_eq!(handover, Handover::Abandoned, "{exit}");
    assert_eq!(
        (exit.id, exit.name.as_str(), &exit.ending),
        (id, "probe", &Ending::Abandoned),
        "{exit}"
    );
    assert_eq!(
        (exit.handled, exit.unhandled, exit.message_drop_panics),
        (0, 0, 0),
        "{exit}"
    );
    assert_eq!(
        exit.drop_panic.as_deref(),
        Some("probe panicked while dropped"),
        "{exit}"
    );
    assert_eq!(new.started.load(Ordering::SeqCst), 0, "the new plugin ran");
    assert!(
        new.dropped.load(Ordering::SeqCst),
        "the new plugin was kept"
    );
}

/// The old plugin's exit from an `end_by` whose deadline passed while it
/// was held in its first message, its swap behind it.
fn assert_old_abandoned(id: PluginId, exits: &[Exit]) {
    assert_eq!(exits.len(), 1, "{exits:?}");
    let old = &exits[0];
    assert_eq!(
        (old.id, old.name.as_str(), &old.ending),
        (id, "holding", &Ending::Abandoned),
        "{old}"
    );
    assert_eq!(
        (old.handled, old.unhandled, &old.drop_panic),
        (1, 0, &None),
        "{old}"
    );
}

const ABANDON_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

#[test]
fn a_swap_that_the_host_abandons_before_it_is_reached_reports_the_new_plugin_abandoned() {
    let _watchdog = watchdog("a swap abandoned by end_by".to_owned(), ABANDON_LIMIT);
    let (old, entries, go) = holding();
    let mut host = Host::<u64>::new();
    let id = host.attach(old);
    host.send(1).unwrap();
    entries.recv().unwrap();
    let (new, record) = successor();
    let replaced = host.replace(id, new);
    // The old plugin is in its handler: the deadline passes at once, and
    // the plugin is abandoned before its swap.
    let exits = host.end_by(std::time::Instant::now());
    assert_old_abandoned(id, &exits);
    assert_eq!(replaced.try_exit(), None, "the old handler still runs");
    drop(go);
    assert_abandoned(id, replaced.wait_handover(), &record);
}

#[test]
fn a_swap_pending_when_the_std_host_is_dropped_reports_the_new_plugin_abandoned() {
    let _watchdog = watchdog(
        "a swap abandoned by a dropped host".to_owned(),
        ABANDON_LIMIT,
    );
    let (witness, witnessed) = witness();
    let (old, entries, go) = holding();
    let mut host = Host::<u64>::new();
    let id = host.attach(old);
    host.attach(witness);
    host.send(1).unwrap();
    entries.recv().unwrap();
    let (new, record) = successor();
    let replaced = host.replace(id, new);
    let dropping = std::thread::spawn(move || drop(host));
    // The witness is dropped once the drop has closed every queue, the old
    // plugin's included; only then is the old handler let go.
    assert!(witnessed.recv().is_err());
    assert_eq!(replaced.try_exit(), None, "the old handler still runs");
    drop(go);
    dropping.join().unwrap();
    // The drop returns once every plugin thread has ended: the swap was
    // reported by then.
    let outcome = (
        replaced
            .try_exit()
            .expect("reported by the time the drop returns"),
        replaced.handover().expect("reported with the exit"),
    );
    assert_abandoned(id, outcome, &record);
}

fn tokio_host_dropped_during_a_swap(execution: Execution) {
    let _watchdog = watchdog(
        format!("a swap abandoned by a dropped tokio host ({execution:?})"),
        ABANDON_LIMIT,
    );
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    let (witness, witnessed) = witness();
    let (old, entries, go) = holding();
    let mut host = mpplugin::tokio::Host::<u64>::new();
    let id = {
        let _entered = runtime.enter();
        let id = host.attach_with(old, 4, execution);
        host.attach_with(witness, 4, execution);
        id
    };
    runtime.block_on(host.send(1)).unwrap();
    entries.recv().unwrap();
    let (new, record) = successor();
    let replaced = runtime.block_on(host.replace(id, new));
    // The drop waits for the handler in progress: on a thread of its own.
    let dropping = std::thread::spawn(move || drop(host));
    assert!(witnessed.recv().is_err());
    assert_eq!(replaced.try_exit(), None, "the old handler still runs");
    drop(go);
    dropping.join().unwrap();
    // The worker, its runtime still running, reports the swap as it winds
    // down.
    assert_abandoned(id, replaced.wait_handover(), &record);
}

#[test]
fn a_swap_pending_when_the_tokio_host_is_dropped_reports_the_new_task_plugin_abandoned() {
    tokio_host_dropped_during_a_swap(Execution::Task);
}

#[test]
fn a_swap_pending_when_the_tokio_host_is_dropped_reports_the_new_blocking_plugin_abandoned() {
    tokio_host_dropped_during_a_swap(Execution::Blocking);
}

fn tokio_end_by_during_a_swap(execution: Execution) {
    let _watchdog = watchdog(
        format!("a swap abandoned by the tokio host's end_by ({execution:?})"),
        ABANDON_LIMIT,
    );
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    let (old, entries, go) = holding();
    let mut host = mpplugin::tokio::Host::<u64>::new();
    let id = {
        let _entered = runtime.enter();
        host.attach_with(old, 4, execution)
    };
    runtime.block_on(host.send(1)).unwrap();
    entries.recv().unwrap();
    let (new, record) = successor();
    let replaced = runtime.block_on(host.replace(id, new));
    let exits = runtime.block_on(host.end_by(std::time::Instant::now()));
    assert_old_abandoned(id, &exits);
    assert_eq!(replaced.try_exit(), None, "the old handler still runs");
    drop(go);
    assert_abandoned(id, replaced.wait_handover(), &record);
}

#[test]
fn a_swap_pending_when_the_tokio_hosts_end_by_expires_reports_the_new_task_plugin_abandoned() {
    tokio_end_by_during_a_swap(Execution::Task);
}

#[test]
fn a_swap_pending_when_the_tokio_hosts_end_by_expires_reports_the_new_blocking_plugin_abandoned() {
    tokio_end_by_during_a_swap(Execution::Blocking);
}

#[test]
#[should_panic(expected = "replace of plugin #3, which this host does not have (it has 1 plugins)")]
fn replacing_an_id_the_host_does_not_have_panics_with_the_id() {
    let idle = || Probe::new().0;
    let mut other = Host::<u64>::new();
    let ids: Vec<PluginId> = (0..4).map(|_| other.attach(idle())).collect();
    let mut host = Host::<u64>::new();
    host.attach(idle());
    drop(host.replace(ids[3], idle()));
}
