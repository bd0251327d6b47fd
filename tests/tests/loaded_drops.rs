//! Messages whose `Drop` panics, let go of by a loaded plugin: the panic
//! happens in the plugin library's copy of mpplugin and is counted there,
//! per thread; the host must read it into the exit of the plugin that let
//! go, and into no other. Two plugins of one library share that copy (and,
//! on a tokio runtime, a thread), so these tests attach two instances of
//! the `keeper` fixture: `a` keeps what is addressed to it, `b` only looks.

use std::panic;
use std::path::Path;
use std::sync::Once;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use fixture_types::Parcel;
use mpplugin::{Ending, Exit, LoadedPlugin};
use mpplugin_tests::driver::{Driver, Std, Tokio};
use mpplugin_tests::fixtures::fixture;
use mpplugin_tests::watchdog::watchdog;

/// How long any test here may take before the watchdog fails the run.
const LIMIT: Duration = Duration::from_secs(120);

/// The panics these tests provoke on purpose (in the fixture's copy of
/// std, whose hook prints them) come from the test's own copy when the
/// host drops a parcel; keep those out of the output.
fn quiet_parcels() {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let text = info.payload().downcast_ref::<&str>().copied();
            if !text.is_some_and(|text| text.starts_with("parcel:")) {
                default(info);
            }
        }));
    });
}

fn keeper_library() -> &'static Path {
    fixture("keeper")
}

/// An instance of the `keeper` fixture that answers to `name`.
fn keeper(name: &str) -> LoadedPlugin<Parcel> {
    // SAFETY: the fixtures are built from this repository by the harness,
    // with the same toolchain and the system allocator.
    unsafe { mpplugin::load_with::<Parcel, _>(keeper_library(), &name.to_owned()) }
        .expect("the keeper fixture loads")
}

/// A parcel for `keeper`, whose drop panics, and the receiver its drop
/// tells.
fn fragile(keeper: &str) -> (Parcel, Receiver<()>) {
    let (dropped, drops) = mpsc::sync_channel(1);
    let parcel = Parcel::Keep {
        keeper: keeper.to_owned(),
        fragile: true,
        dropped,
    };
    (parcel, drops)
}

/// Sends a ping and waits for `plugins` replies: every plugin that replied
/// has handled everything sent before it.
fn ping<D: Driver<Parcel>>(host: &mut D, plugins: usize) -> Vec<String> {
    let (reply, replies) = mpsc::sync_channel(plugins);
    host.send(Parcel::Ping(reply)).expect("a plugin runs");
    let mut answers: Vec<String> = (0..plugins)
        .map(|_| replies.recv().expect("every plugin replies"))
        .collect();
    answers.sort();
    answers
}

fn exit_of(exits: &[Exit], index: u64) -> &Exit {
    exits
        .iter()
        .find(|exit| exit.id.index() == index)
        .unwrap_or_else(|| panic!("no exit of plugin #{index}: {exits:?}"))
}

/// `a` keeps a fragile parcel after `b` has let go of its reference, then
/// drops it in a handler: the panic is `a`'s, counted once, and `b`'s exit
/// counts none.
fn the_plugin_that_lets_go_last_is_counted<D: Driver<Parcel>>() {
    quiet_parcels();
    let _watchdog = watchdog("a kept parcel let go of".into(), LIMIT);
    let mut host = D::new();
    let a = host.attach(keeper("a"), 16);
    let b = host.attach(keeper("b"), 16);
    let (parcel, drops) = fragile("a");
    host.send(parcel).unwrap();
    assert_eq!(ping(&mut host, 2), ["a: keeps 1", "b: keeps 0"]);
    assert!(drops.try_recv().is_err(), "a still keeps the parcel");
    host.send(Parcel::LetGo("a".into())).unwrap();
    drops.recv().expect("a let go of the parcel");
    assert_eq!(ping(&mut host, 2), ["a: keeps 0", "b: keeps 0"]);
    let exits = host.end();
    let (a, b) = (exit_of(&exits, a.index()), exit_of(&exits, b.index()));
    assert_eq!((&a.ending, a.handled), (&Ending::Finished, 4), "{a}");
    assert_eq!(a.message_drop_panics, 1, "{a}");
    assert_eq!((&b.ending, b.handled), (&Ending::Finished, 4), "{b}");
    assert_eq!(b.message_drop_panics, 0, "{b}");
}

mod std_host {
    #[test]
    fn the_plugin_that_lets_go_last_is_counted() {
        super::the_plugin_that_lets_go_last_is_counted::<super::Std<super::Parcel>>();
    }
}

mod tokio_task {
    #[test]
    fn the_plugin_that_lets_go_last_is_counted() {
        super::the_plugin_that_lets_go_last_is_counted::<super::Tokio<super::Parcel, false>>();
    }
}

mod tokio_blocking {
    #[test]
    fn the_plugin_that_lets_go_last_is_counted() {
        super::the_plugin_that_lets_go_last_is_counted::<super::Tokio<super::Parcel, true>>();
    }
}

/// `a` detaches while it keeps a fragile parcel: the parcel is dropped with
/// `a`, after its last batch, and that panic is counted on the runtime's
/// one worker thread in the library's copy of mpplugin. `b`, of the same
/// library, then handles a message on that thread: the leftover count is
/// not `b`'s. (A message a plugin drops in its own `Drop` is counted in no
/// exit: `message_drop_panics` counts what handlers and workers drop.)
#[test]
fn a_drop_left_by_a_plugin_of_the_same_library_is_not_counted_for_another() {
    quiet_parcels();
    let _watchdog = watchdog("a parcel dropped with its keeper".into(), LIMIT);
    // One worker: every plugin task runs on the same thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let mut host = mpplugin::tokio::Host::<Parcel>::new();
    let (a, b) = {
        let _entered = runtime.enter();
        (host.attach(keeper("a")), host.attach(keeper("b")))
    };
    let ping = |host: &mut mpplugin::tokio::Host<Parcel>, plugins: usize| {
        let (reply, replies) = mpsc::sync_channel(plugins);
        runtime.block_on(host.send(Parcel::Ping(reply))).unwrap();
        let mut answers: Vec<String> = (0..plugins).map(|_| replies.recv().unwrap()).collect();
        answers.sort();
        answers
    };
    let (parcel, drops) = fragile("a");
    runtime.block_on(host.send(parcel)).unwrap();
    assert_eq!(ping(&mut host, 2), ["a: keeps 1", "b: keeps 0"]);
    runtime
        .block_on(host.send(Parcel::Stop("a".into(), 3)))
        .unwrap();
    drops.recv().expect("a was dropped with its parcel");
    assert_eq!(ping(&mut host, 1), ["b: keeps 0"]);
    let exits = runtime.block_on(host.end());
    let (a, b) = (exit_of(&exits, a.index()), exit_of(&exits, b.index()));
    assert_eq!((&a.ending, a.handled), (&Ending::Detached(3), 3), "{a}");
    assert_eq!((&b.ending, b.handled), (&Ending::Finished, 4), "{b}");
    assert_eq!(b.message_drop_panics, 0, "{b}");
}
