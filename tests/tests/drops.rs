//! Messages whose `Drop` panics: each is dropped on its own, contained and
//! counted, wherever the last reference goes (left in a queue at `end`, at
//! a drop, after the runtime shut down, or after a handler returned), and
//! the plugin is blamed only for what it did. Before these were fixed, two
//! such messages left in a queue aborted the process ("panic in a
//! destructor during cleanup"), and a plugin that returned `Some(7)` was
//! reported as panicked when the message it was handed panicked in `Drop`.
//! Also: a queue capacity that cannot be allocated is refused with a panic
//! that says so, not an abort.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Once};
use std::time::Duration;

use mpplugin::{Ending, Message, Plugin};
use mpplugin_tests::driver::{Driver, Std, Tokio};
use mpplugin_tests::watchdog::watchdog;

/// How long any test here may take before the watchdog fails the run.
const LIMIT: Duration = Duration::from_secs(120);

/// A message that counts its drops and, when armed, panics in `Drop`.
struct Bomb {
    armed: bool,
    drops: Arc<AtomicU64>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.armed {
            panic!("bomb: a message's drop panicked");
        }
    }
}

/// The panics these tests provoke on purpose are many; keep them out of the
/// output, and let every other panic through.
fn quiet_bombs() {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let text = info.payload().downcast_ref::<&str>().copied();
            if !text.is_some_and(|text| text.starts_with("bomb:")) {
                default(info);
            }
        }));
    });
}

/// A plugin that tells the test when it is in its handler, waits at a gate,
/// and returns what it was told to.
struct Gated {
    entered: SyncSender<()>,
    gate: Receiver<()>,
    returns: Option<u8>,
}

impl Plugin<Bomb> for Gated {
    fn handle_message(&mut self, _: Message<Bomb>) -> Option<u8> {
        let _ = self.entered.send(());
        // A closed gate lets everything through.
        let _ = self.gate.recv();
        self.returns
    }

    fn name(&self) -> &str {
        "gated"
    }
}

/// The plugin, the test's ends of its channels: `entered` fires as the
/// plugin enters a handler, dropping `gate` lets it out.
fn gated(returns: Option<u8>) -> (Gated, Receiver<()>, mpsc::Sender<()>) {
    let (entered, entries) = mpsc::sync_channel(1000);
    let (gate, permits) = mpsc::channel();
    let plugin = Gated {
        entered,
        gate: permits,
        returns,
    };
    (plugin, entries, gate)
}

fn bomb(armed: bool, drops: &Arc<AtomicU64>) -> Bomb {
    Bomb {
        armed,
        drops: Arc::clone(drops),
    }
}

/// `queued` armed messages wait in the queue of a plugin that detaches on
/// its first message: at `end`, each is dropped, counted, and the plugin's
/// own ending stands.
fn panicking_drops_at_end<D: Driver<Bomb>>(queued: u64) {
    quiet_bombs();
    let _watchdog = watchdog(format!("{queued} panicking drops at end"), LIMIT);
    let drops = Arc::new(AtomicU64::new(0));
    let (plugin, entries, gate) = gated(Some(1));
    let mut host = D::new();
    host.attach(plugin, 256);
    host.send(bomb(false, &drops)).unwrap();
    entries.recv().unwrap();
    // The plugin is in its first handler: these stay in its queue.
    for _ in 0..queued {
        host.send(bomb(true, &drops)).unwrap();
    }
    drop(gate);
    let exits = host.end();
    let exit = &exits[0];
    assert_eq!(exit.ending, Ending::Detached(1), "{exit}");
    assert_eq!((exit.handled, exit.unhandled), (1, queued), "{exit}");
    assert_eq!(exit.message_drop_panics, queued, "{exit}");
    assert_eq!(exit.drop_panic, None, "{exit}");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        queued + 1,
        "each dropped once"
    );
}

/// The same messages, at a drop of the host without `end`: none aborts the
/// process, each is dropped once by the time the drop returns.
fn panicking_drops_at_drop<D: Driver<Bomb>>(queued: u64) {
    quiet_bombs();
    let _watchdog = watchdog(format!("{queued} panicking drops at drop"), LIMIT);
    let drops = Arc::new(AtomicU64::new(0));
    let (plugin, entries, gate) = gated(None);
    let mut host = D::new();
    host.attach(plugin, 256);
    host.send(bomb(false, &drops)).unwrap();
    entries.recv().unwrap();
    for _ in 0..queued {
        host.send(bomb(true, &drops)).unwrap();
    }
    // Whether the drop discards them or the plugin gets to handle some
    // first, every message is dropped, once: by the std host before its drop
    // returns, by the tokio host's worker as it winds down (the watchdog
    // bounds the wait).
    drop(gate);
    drop(host);
    while drops.load(Ordering::SeqCst) < queued + 1 {
        std::thread::yield_now();
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        queued + 1,
        "each dropped once"
    );
}

/// A plugin that returns `Some(7)` is reported as detached with status 7
/// when the message it was handed panics in `Drop` as the last reference
/// goes: the message's panic is counted, not blamed on the plugin.
fn a_drop_panic_after_the_handler_is_not_the_plugins<D: Driver<Bomb>>() {
    quiet_bombs();
    let _watchdog = watchdog("a message dropped after its handler".into(), LIMIT);
    let drops = Arc::new(AtomicU64::new(0));
    let (plugin, entries, gate) = gated(Some(7));
    let mut host = D::new();
    host.attach(plugin, 16);
    host.send(bomb(true, &drops)).unwrap();
    // `send` has returned: the host holds the message no more, and the
    // plugin's side holds the last references.
    entries.recv().unwrap();
    drop(gate);
    let exits = host.end();
    let exit = &exits[0];
    assert_eq!(exit.ending, Ending::Detached(7), "{exit}");
    assert_eq!((exit.handled, exit.unhandled), (1, 0), "{exit}");
    assert_eq!(exit.message_drop_panics, 1, "{exit}");
    assert!(
        exit.to_string().contains("1 message drop(s) panicked"),
        "{exit}"
    );
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// The same for a plugin that goes on: every handled message whose drop
/// panics is counted, and the plugin finishes. Each handler is let out only
/// after `send` returned, so that the plugin's side drops the last
/// reference (when the host's `send` does, the panic is contained there and
/// counted in no exit).
fn drop_panics_after_handlers_are_counted<D: Driver<Bomb>>() {
    quiet_bombs();
    let _watchdog = watchdog("messages dropped after their handlers".into(), LIMIT);
    let drops = Arc::new(AtomicU64::new(0));
    let (plugin, entries, gate) = gated(None);
    let mut host = D::new();
    host.attach(plugin, 4);
    for _ in 0..50 {
        host.send(bomb(true, &drops)).unwrap();
        entries.recv().unwrap();
        gate.send(()).unwrap();
    }
    let exits = host.end();
    let exit = &exits[0];
    assert_eq!(exit.ending, Ending::Finished, "{exit}");
    assert_eq!((exit.handled, exit.unhandled), (50, 0), "{exit}");
    assert_eq!(exit.message_drop_panics, 50, "{exit}");
    assert_eq!(drops.load(Ordering::SeqCst), 50);
}

/// A capacity whose ring no machine can allocate (2^56 slots of 8 bytes):
/// a panic that says so, and the host goes on without that plugin.
fn an_unallocatable_capacity_panics_with_a_message<D: Driver<Bomb>>() {
    let _watchdog = watchdog("an unallocatable capacity".into(), LIMIT);
    let mut host = D::new();
    let (plugin, _entries, gate) = gated(Some(3));
    drop(gate);
    let refused = panic::catch_unwind(AssertUnwindSafe(|| host.attach(plugin, 1 << 56)));
    let payload = refused.expect_err("a queue of 2^56 messages was allocated");
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        text.starts_with(
            "mpplugin: cannot allocate a queue of 72057594037927936 messages (576460752303423488 bytes)"
        ),
        "{text}"
    );
    assert!(text.contains("attach it with a smaller capacity"), "{text}");
    let (plugin, _entries, gate) = gated(Some(3));
    drop(gate);
    let id = host.attach(plugin, 4);
    assert_eq!(id.index(), 0, "the refused plugin took no id");
    let drops = Arc::new(AtomicU64::new(0));
    host.send(bomb(false, &drops)).unwrap();
    let exits = host.end();
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].ending, Ending::Detached(3));
}

macro_rules! for_each_host {
    ($($host:ident: $driver:ty;)*) => {$(
        mod $host {
            type D<T> = $driver;

            #[test]
            fn one_panicking_drop_at_end() {
                super::panicking_drops_at_end::<D<super::Bomb>>(1);
            }

            #[test]
            fn two_panicking_drops_at_end() {
                super::panicking_drops_at_end::<D<super::Bomb>>(2);
            }

            #[test]
            fn many_panicking_drops_at_end() {
                super::panicking_drops_at_end::<D<super::Bomb>>(200);
            }

            #[test]
            fn one_panicking_drop_at_drop() {
                super::panicking_drops_at_drop::<D<super::Bomb>>(1);
            }

            #[test]
            fn two_panicking_drops_at_drop() {
                super::panicking_drops_at_drop::<D<super::Bomb>>(2);
            }

            #[test]
            fn many_panicking_drops_at_drop() {
                super::panicking_drops_at_drop::<D<super::Bomb>>(200);
            }

            #[test]
            fn a_drop_panic_after_the_handler_is_not_the_plugins() {
                super::a_drop_panic_after_the_handler_is_not_the_plugins::<D<super::Bomb>>();
            }

            #[test]
            fn drop_panics_after_handlers_are_counted() {
                super::drop_panics_after_handlers_are_counted::<D<super::Bomb>>();
            }

            #[test]
            fn an_unallocatable_capacity_panics_with_a_message() {
                super::an_unallocatable_capacity_panics_with_a_message::<D<super::Bomb>>();
            }
        }
    )*};
}

for_each_host! {
    std_host: super::Std<T>;
    tokio_task: super::Tokio<T, false>;
    tokio_blocking: super::Tokio<T, true>;
}

/// A runtime on this thread only, so that a task spawned on it runs only
/// inside `block_on`: what the tests below queue stays queued until then.
fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A plugin that detaches on its first message, taking the rest of its
/// batch with it unhandled: those are dropped from the worker's batch, not
/// from the queue.
struct DetachAtOnce;

impl Plugin<Bomb> for DetachAtOnce {
    fn handle_message(&mut self, _: Message<Bomb>) -> Option<u8> {
        Some(2)
    }
}

fn panicking_drops_left_in_a_batch(queued: u64) {
    quiet_bombs();
    let _watchdog = watchdog(format!("{queued} panicking drops in a batch"), LIMIT);
    let drops = Arc::new(AtomicU64::new(0));
    let runtime = current_thread_runtime();
    let mut host = mpplugin::tokio::Host::<Bomb>::new();
    {
        let _entered = runtime.enter();
        host.attach_with_capacity(DetachAtOnce, 256);
    }
    // The plugin's task has not run yet: it takes all of these in one batch.
    host.try_send(bomb(false, &drops)).unwrap();
    for _ in 0..queued {
        host.try_send(bomb(true, &drops)).unwrap();
    }
    let exits = runtime.block_on(host.end());
    let exit = &exits[0];
    assert_eq!(exit.ending, Ending::Detached(2), "{exit}");
    assert_eq!((exit.handled, exit.unhandled), (1, queued), "{exit}");
    assert_eq!(exit.message_drop_panics, queued, "{exit}");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        queued + 1,
        "each dropped once"
    );
}

#[test]
fn one_panicking_drop_left_in_a_batch() {
    panicking_drops_left_in_a_batch(1);
}

#[test]
fn two_panicking_drops_left_in_a_batch() {
    panicking_drops_left_in_a_batch(2);
}

#[test]
fn many_panicking_drops_left_in_a_batch() {
    panicking_drops_left_in_a_batch(200);
}

/// Messages still queued when the runtime shuts down (the plugin's task is
/// dropped without running): the host, dropped after, drops each of them
/// once, contained. Before, the first panic escaped the queue's `Drop` and
/// the other messages leaked.
fn panicking_drops_after_a_runtime_shutdown(queued: u64) {
    quiet_bombs();
    let _watchdog = watchdog(format!("{queued} panicking drops after shutdown"), LIMIT);
    let drops = Arc::new(AtomicU64::new(0));
    let runtime = current_thread_runtime();
    let mut host = mpplugin::tokio::Host::<Bomb>::new();
    {
        let _entered = runtime.enter();
        host.attach_with_capacity(DetachAtOnce, 256);
    }
    for _ in 0..queued {
        host.try_send(bomb(true, &drops)).unwrap();
    }
    drop(runtime);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "the queue holds them");
    drop(host);
    assert_eq!(drops.load(Ordering::SeqCst), queued, "each dropped once");
}

#[test]
fn one_panicking_drop_after_a_runtime_shutdown() {
    panicking_drops_after_a_runtime_shutdown(1);
}

#[test]
fn two_panicking_drops_after_a_runtime_shutdown() {
    panicking_drops_after_a_runtime_shutdown(2);
}

#[test]
fn many_panicking_drops_after_a_runtime_shutdown() {
    panicking_drops_after_a_runtime_shutdown(200);
}

/// The host's side drops a message last (no plugin runs, or the caller
/// drops a message it kept): the panic is contained there too, not raised
/// in the caller's `send` or `drop`.
#[test]
fn a_message_dropped_last_by_the_host_does_not_panic_there() {
    quiet_bombs();
    let drops = Arc::new(AtomicU64::new(0));
    let message = Message::new(bomb(true, &drops));
    let copy = message.clone();
    drop(message);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "a copy still holds it");
    drop(copy);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let mut host = mpplugin::Host::<Bomb>::new();
    let refused = host.send(bomb(true, &drops)).expect_err("no plugin runs");
    drop(refused);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}
