//! Property tests of the hosts' invariants over random sequences of attach,
//! send, try_send and end, with plugins that detach or panic at chosen
//! points, for the std host and the tokio host (task and blocking
//! execution). A model follows what the host reports and predicts, for every
//! plugin, the exact sequence it handles, how it ends, and how many messages
//! it was delivered.

use std::sync::{Arc, Mutex};

use mpplugin::{Ending, Message, Plugin, PluginId, TrySendError};
use mpplugin_tests::driver::{Driver, Std, Tokio};
use proptest::prelude::*;

/// How a plugin ends: on the `at`-th message it handles (from 0), if it gets
/// that far.
#[derive(Debug, Clone, Copy)]
enum Fate {
    Finish,
    Detach { at: usize, status: u8 },
    Panic { at: usize },
}

#[derive(Debug, Clone)]
enum Op {
    Attach { capacity: usize, fate: Fate },
    Send,
    TrySend,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        2 => Just(Fate::Finish),
        1 => (0..12_usize, any::<u8>()).prop_map(|(at, status)| Fate::Detach { at, status }),
        1 => (0..12_usize).prop_map(|at| Fate::Panic { at }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (1..4_usize, fate()).prop_map(|(capacity, fate)| Op::Attach { capacity, fate }),
        4 => Just(Op::Send),
        2 => Just(Op::TrySend),
    ]
}

/// Records what it handles and meets its fate.
struct Fated {
    fate: Fate,
    seen: Arc<Mutex<Vec<u64>>>,
}

impl Plugin<u64> for Fated {
    fn handle_message(&mut self, message: Message<u64>) -> Option<u8> {
        let mut seen = self.seen.lock().unwrap();
        let index = seen.len();
        seen.push(*message);
        drop(seen);
        match self.fate {
            Fate::Detach { at, status } if at == index => Some(status),
            Fate::Panic { at } if at == index => panic!("fated panic at {at}"),
            _ => None,
        }
    }
}

/// What the test knows of one attached plugin.
struct Model {
    capacity: usize,
    fate: Fate,
    seen: Arc<Mutex<Vec<u64>>>,
    /// The values the host said it queued for this plugin.
    delivered: Vec<u64>,
    gone: bool,
}

impl Model {
    /// Where its fate ends it, if it gets that far.
    fn end_index(&self) -> Option<usize> {
        match self.fate {
            Fate::Finish => None,
            Fate::Detach { at, .. } | Fate::Panic { at } => Some(at),
        }
    }

    /// Whether it has met its fate by the messages delivered so far.
    fn may_have_ended(&self) -> bool {
        self.end_index().is_some_and(|at| at < self.delivered.len())
    }
}

fn record_gone(models: &mut [Model], gone: &[PluginId]) -> Result<(), TestCaseError> {
    for id in gone {
        let model = &mut models[id.index() as usize];
        prop_assert!(!model.gone, "{id} reported gone twice");
        prop_assert!(
            model.may_have_ended(),
            "{id} reported gone before its fate ({:?}, {} delivered)",
            model.fate,
            model.delivered.len()
        );
        model.gone = true;
    }
    Ok(())
}

fn record_delivery(
    models: &mut [Model],
    value: u64,
    delivered: usize,
) -> Result<(), TestCaseError> {
    let running = models.iter().filter(|model| !model.gone).count();
    prop_assert_eq!(
        delivered,
        running,
        "message {} reached {} of {} running",
        value,
        delivered,
        running
    );
    for model in models.iter_mut().filter(|model| !model.gone) {
        model.delivered.push(value);
    }
    Ok(())
}

fn run<D: Driver<u64>>(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut host = D::new();
    let mut models: Vec<Model> = Vec::new();
    let mut next_value = 0_u64;
    for op in ops {
        match *op {
            Op::Attach { capacity, fate } => {
                let seen = Arc::new(Mutex::new(Vec::new()));
                let id = host.attach(
                    Fated {
                        fate,
                        seen: Arc::clone(&seen),
                    },
                    capacity,
                );
                prop_assert_eq!(id.index(), models.len() as u64);
                models.push(Model {
                    capacity,
                    fate,
                    seen,
                    delivered: Vec::new(),
                    gone: false,
                });
            }
            Op::Send => {
                let value = next_value;
                next_value += 1;
                match host.send(value) {
                    Ok(delivery) => {
                        record_gone(&mut models, &delivery.gone)?;
                        record_delivery(&mut models, value, delivery.delivered)?;
                    }
                    Err(error) => {
                        prop_assert_eq!(*error.message, value, "the message comes back");
                        record_gone(&mut models, &error.gone)?;
                        prop_assert!(
                            models.iter().all(|model| model.gone),
                            "send failed while a plugin runs"
                        );
                    }
                }
            }
            Op::TrySend => {
                let value = next_value;
                next_value += 1;
                match host.try_send(value) {
                    Ok(delivery) => {
                        record_gone(&mut models, &delivery.gone)?;
                        record_delivery(&mut models, value, delivery.delivered)?;
                    }
                    Err(TrySendError::Full {
                        message,
                        full,
                        gone,
                    }) => {
                        prop_assert_eq!(*message, value);
                        record_gone(&mut models, &gone)?;
                        prop_assert!(!full.is_empty());
                        for id in &full {
                            let model = &models[id.index() as usize];
                            prop_assert!(!model.gone, "{} is gone yet full", id);
                            prop_assert!(
                                model.delivered.len() >= model.capacity,
                                "{} is full with {} delivered to a queue of {}",
                                id,
                                model.delivered.len(),
                                model.capacity
                            );
                        }
                    }
                    Err(TrySendError::NoPlugins(error)) => {
                        prop_assert_eq!(*error.message, value);
                        record_gone(&mut models, &error.gone)?;
                        prop_assert!(models.iter().all(|model| model.gone));
                    }
                }
            }
        }
    }
    let exits = host.end();
    prop_assert_eq!(exits.len(), models.len(), "one exit per plugin");
    for (index, (exit, model)) in exits.iter().zip(&models).enumerate() {
        prop_assert_eq!(exit.id.index(), index as u64, "exits in attach order");
        let seen = model.seen.lock().unwrap().clone();
        // It handles what it was delivered, in order, up to its fate.
        let expected: Vec<u64> = match model.end_index() {
            Some(at) if at < model.delivered.len() => model.delivered[..=at].to_vec(),
            _ => model.delivered.clone(),
        };
        prop_assert_eq!(&seen, &expected, "plugin {} handled", index);
        prop_assert_eq!(exit.handled, seen.len() as u64, "{}", exit);
        prop_assert_eq!(
            exit.handled + exit.unhandled,
            model.delivered.len() as u64,
            "{}: every delivered message accounted for",
            exit
        );
        let ending = match model.fate {
            Fate::Detach { at, status } if at < model.delivered.len() => Ending::Detached(status),
            Fate::Panic { at } if at < model.delivered.len() => {
                Ending::Panicked(format!("fated panic at {at}"))
            }
            _ => Ending::Finished,
        };
        prop_assert_eq!(&exit.ending, &ending, "{}", exit);
        prop_assert_eq!(&exit.drop_panic, &None);
    }
    Ok(())
}

/// 256 cases (a second or two); `PROPTEST_CASES` overrides, as
/// `tests/scripts/miri.sh` does to keep Miri's run short.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn std_host_matches_the_model(ops in prop::collection::vec(op(), 0..64)) {
        run::<Std<u64>>(&ops)?;
    }

    #[test]
    fn tokio_host_tasks_match_the_model(ops in prop::collection::vec(op(), 0..64)) {
        run::<Tokio<u64, false>>(&ops)?;
    }

    #[test]
    fn tokio_host_blocking_pool_matches_the_model(ops in prop::collection::vec(op(), 0..64)) {
        run::<Tokio<u64, true>>(&ops)?;
    }
}
