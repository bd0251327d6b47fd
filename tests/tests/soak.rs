//! The soak test: 16 plugins, 1 000 000 messages, mixed queue capacities,
//! some plugins detaching or panicking at seeded random points, for the std
//! host and the tokio host (task and blocking execution). Every plugin
//! handles exactly what it was sent while alive, every message delivered is
//! accounted for, every exit is reported once, and a watchdog fails the test
//! instead of letting a deadlock hang CI.
//!
//! The seed is printed; set `MPPLUGIN_SOAK_SEED` to replay one, and
//! `MPPLUGIN_SOAK_MESSAGES` to run more (or fewer) messages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use mpplugin::{Ending, Message, Plugin, TrySendError};
use mpplugin_tests::driver::{Driver, Std, Tokio};
use mpplugin_tests::random::SplitMix;
use mpplugin_tests::watchdog::watchdog;

const PLUGINS: usize = 16;
const MESSAGES: u64 = 1_000_000;
/// Far above what a soak takes (seconds), far below CI's patience.
const WATCHDOG: Duration = Duration::from_secs(240);

/// How a plugin of the soak ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Finish,
    Detach { at: u64, status: u8 },
    Panic { at: u64 },
}

/// Checks that it receives 0, 1, 2, … in order (a gap or a repeat panics
/// with a message the test recognises), counts, and meets its fate.
struct Soaker {
    fate: Fate,
    next: u64,
    handled: Arc<AtomicU64>,
}

impl Plugin<u64> for Soaker {
    fn handle_message(&mut self, message: Message<u64>) -> Option<u8> {
        assert_eq!(*message, self.next, "out of order");
        self.next += 1;
        self.handled.fetch_add(1, Ordering::Relaxed);
        match self.fate {
            Fate::Detach { at, status } if at == *message => Some(status),
            Fate::Panic { at } if at == *message => panic!("soak panic at {at}"),
            _ => None,
        }
    }

    fn name(&self) -> &str {
        "soaker"
    }
}

struct Plan {
    messages: u64,
    /// (capacity, fate) per plugin.
    plugins: Vec<(usize, Fate)>,
    /// One message in this many goes through `try_send`.
    try_every: u64,
}

impl Plan {
    fn new(seed: u64, messages: u64) -> Self {
        let mut random = SplitMix(seed);
        const CAPACITIES: [usize; 7] = [4, 8, 32, 64, 256, 1024, 4096];
        let plugins = (0..PLUGINS)
            .map(|index| {
                let capacity = CAPACITIES[random.below(CAPACITIES.len() as u64) as usize];
                // A quarter detach, a quarter panic, half run to the end; the
                // points are anywhere in the run, the very first message
                // included.
                let fate = match index % 4 {
                    0 => Fate::Detach {
                        at: random.below(messages),
                        status: random.below(256) as u8,
                    },
                    1 => Fate::Panic {
                        at: random.below(messages),
                    },
                    _ => Fate::Finish,
                };
                (capacity, fate)
            })
            .collect();
        Self {
            messages,
            plugins,
            try_every: 2 + random.below(30),
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}

/// The host's side: how many messages each plugin was sent while the host
/// still counted it running, and which send first reported it gone.
#[derive(Default)]
struct Ledger {
    sent: [u64; PLUGINS],
    gone_at: [Option<u64>; PLUGINS],
    gone: usize,
}

impl Ledger {
    fn gone(&mut self, gone: &[mpplugin::PluginId], at: u64, context: &str) {
        for id in gone {
            let index = id.index() as usize;
            assert!(
                self.gone_at[index].is_none(),
                "{context}: plugin {index} reported gone twice (sends {:?} and {at})",
                self.gone_at[index]
            );
            self.gone_at[index] = Some(at);
            self.gone += 1;
        }
    }

    /// A send reached `delivered` plugins: every one not reported gone.
    fn delivered(&mut self, delivered: usize, at: u64, context: &str) {
        assert_eq!(
            delivered,
            PLUGINS - self.gone,
            "{context}: send {at} reached {delivered} plugins, {} are running",
            PLUGINS - self.gone
        );
        for (sent, gone_at) in self.sent.iter_mut().zip(&self.gone_at) {
            if gone_at.is_none() {
                *sent += 1;
            }
        }
    }
}

/// The soaks run one after the other: on a two-core machine, three at once
/// would only measure the scheduler.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The planned panics are many and expected: only the others are printed.
fn quiet_planned_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let planned = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|message| message.starts_with("soak panic at "));
            if !planned {
                default(info);
            }
        }));
    });
}

fn soak<D: Driver<u64>>(host_name: &str) {
    quiet_planned_panics();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let seed = env_u64("MPPLUGIN_SOAK_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |since| since.as_nanos() as u64)
    });
    let messages = env_u64("MPPLUGIN_SOAK_MESSAGES").unwrap_or(MESSAGES);
    let plan = Plan::new(seed, messages);
    let context = format!(
        "soak of the {host_name} (MPPLUGIN_SOAK_SEED={seed} MPPLUGIN_SOAK_MESSAGES={messages})"
    );
    eprintln!("{context}: plugins (capacity, fate) {:?}", plan.plugins);
    let _watchdog = watchdog(context.clone(), WATCHDOG);
    let started = Instant::now();

    let mut host = D::new();
    let handled: Vec<Arc<AtomicU64>> = plan
        .plugins
        .iter()
        .enumerate()
        .map(|(index, &(capacity, fate))| {
            let handled = Arc::new(AtomicU64::new(0));
            let id = host.attach(
                Soaker {
                    fate,
                    next: 0,
                    handled: Arc::clone(&handled),
                },
                capacity,
            );
            assert_eq!(id.index(), index as u64);
            handled
        })
        .collect();

    let mut ledger = Ledger::default();
    for value in 0..plan.messages {
        let delivery = if value % plan.try_every == 0 {
            match host.try_send(value) {
                Ok(delivery) => delivery,
                Err(TrySendError::Full {
                    message,
                    full,
                    gone,
                }) => {
                    assert!(!full.is_empty(), "{context}: Full names no full queue");
                    ledger.gone(&gone, value, &context);
                    let value = *message;
                    host.send(value).unwrap_or_else(|error| {
                        panic!("{context}: send {value} after try_send: {error}")
                    })
                }
                Err(TrySendError::NoPlugins(error)) => {
                    panic!("{context}: try_send {value} found no plugin: {error}")
                }
            }
        } else {
            host.send(value)
                .unwrap_or_else(|error| panic!("{context}: send {value}: {error}"))
        };
        ledger.gone(&delivery.gone, value, &context);
        ledger.delivered(delivery.delivered, value, &context);
    }
    let Ledger { sent, gone_at, .. } = ledger;
    let exits = host.end();
    let elapsed = started.elapsed();

    assert_eq!(exits.len(), PLUGINS, "{context}: one exit per plugin");
    for (index, exit) in exits.iter().enumerate() {
        let (capacity, fate) = plan.plugins[index];
        let about = format!("{context}: plugin {index} (capacity {capacity}, {fate:?}): {exit}");
        assert_eq!(
            exit.id.index(),
            index as u64,
            "{about}: exits in attach order"
        );
        assert_eq!(
            exit.handled + exit.unhandled,
            sent[index],
            "{about}: delivered = handled + unhandled"
        );
        assert_eq!(
            exit.handled,
            handled[index].load(Ordering::SeqCst),
            "{about}: the exit counts what the plugin counted"
        );
        assert_eq!(exit.drop_panic, None, "{about}");
        match fate {
            Fate::Finish => {
                assert_eq!(exit.ending, Ending::Finished, "{about}");
                assert_eq!(exit.handled, plan.messages, "{about}");
                assert_eq!(exit.unhandled, 0, "{about}");
                assert_eq!(gone_at[index], None, "{about}: reported gone");
            }
            Fate::Detach { at, status } => {
                assert_eq!(exit.ending, Ending::Detached(status), "{about}");
                assert_eq!(exit.handled, at + 1, "{about}");
            }
            Fate::Panic { at } => {
                assert_eq!(
                    exit.ending,
                    Ending::Panicked(format!("soak panic at {at}")),
                    "{about}"
                );
                assert_eq!(exit.handled, at + 1, "{about}");
            }
        }
        if let Some(at) = gone_at[index] {
            // Reported gone only after it had ended, so after its last message.
            assert!(at >= exit.handled, "{about}: reported gone at send {at}");
        }
    }
    eprintln!(
        "{context}: {} messages to {PLUGINS} plugins in {elapsed:.2?}",
        plan.messages
    );
}

#[test]
fn soak_std_host() {
    soak::<Std<u64>>("std host");
}

#[test]
fn soak_tokio_host_tasks() {
    soak::<Tokio<u64, false>>("tokio host (tasks)");
}

#[test]
fn soak_tokio_host_blocking_pool() {
    soak::<Tokio<u64, true>>("tokio host (blocking pool)");
}

/// A run that truly deadlocks: a plugin that waits forever for a permit,
/// behind a queue of one. Run only by the test below, in a child process.
#[test]
#[ignore = "deadlocks on purpose; run by `the_watchdog_aborts_a_deadlocked_run`"]
fn deadlock_for_the_watchdog() {
    let limit = env_u64("MPPLUGIN_WATCHDOG_MS").expect("run by the watchdog test");
    let _watchdog = watchdog(
        "a deliberate deadlock".to_owned(),
        Duration::from_millis(limit),
    );
    let (_permits, gate) = mpsc::channel::<()>();
    let mut host = Std::<u64>::new();
    host.attach(Blocked(gate), 1);
    for value in 0.. {
        let _ = host.send(value);
    }
}

struct Blocked(mpsc::Receiver<()>);

impl Plugin<u64> for Blocked {
    fn handle_message(&mut self, _: Message<u64>) -> Option<u8> {
        let _ = self.0.recv();
        None
    }
}

#[test]
fn the_watchdog_aborts_a_deadlocked_run() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "deadlock_for_the_watchdog",
            "--ignored",
            "--nocapture",
        ])
        .env("MPPLUGIN_WATCHDOG_MS", "300")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the deadlock ended well?\n{stderr}"
    );
    assert!(
        stderr.contains("watchdog: a deliberate deadlock did not finish within 300ms"),
        "{stderr}"
    );
}
