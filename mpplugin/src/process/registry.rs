//! The [`Reply`](crate::reply::Reply)s the process host has sent to its
//! children, by id: which children may still answer through each, and how an
//! answer reaches its channel. An entry holds a clone of its `Reply`, so the
//! host's `Replies` stays open while a child may answer, and closes once
//! every child that was sent the id has let go of it: by saying so, or by
//! ending in any way (a crash included). Bookkeeping only: it reads no
//! socket and starts nothing, and runs no code of the user's (an answer's
//! decoding, a `Reply`'s drop) while it holds its lock.

use std::collections::{HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::plugin::panic_message;
use crate::reply::remote::Outgoing;

/// One process host's registry. Children are told apart by a serial of
/// their own, not by plugin id, which a replacement keeps.
#[derive(Default)]
pub(crate) struct Registry {
    state: Mutex<State>,
    next_child: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Children that take the messages sent from now on.
    receivers: HashSet<u64>,
    entries: HashMap<u64, Entry>,
}

struct Entry {
    outgoing: Outgoing,
    /// Children sent the id that have not let go of it.
    holders: HashSet<u64>,
}

impl Registry {
    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it: the user's code (an answer's
        // decoding, a `Reply`'s drop) runs after it is released.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A serial for a child about to start.
    pub(crate) fn serial(&self) -> u64 {
        self.next_child.fetch_add(1, Ordering::Relaxed)
    }

    /// Child `child` started: it takes the messages sent from now on.
    pub(crate) fn join(&self, child: u64) {
        self.state().receivers.insert(child);
    }

    /// Child `child` was replaced: it takes no message sent from now on, and
    /// keeps what it holds until it lets go or ends.
    pub(crate) fn leave(&self, child: u64) {
        self.state().receivers.remove(&child);
    }

    /// The `Reply`s of one message about to be queued for every receiver:
    /// each receiver holds each of them. Returns their ids.
    pub(crate) fn sent(&self, outgoing: Vec<Outgoing>) -> Vec<u64> {
        let mut state = self.state();
        let holders = state.receivers.clone();
        let mut ids = Vec::with_capacity(outgoing.len());
        let mut unheld = Vec::new();
        for outgoing in outgoing {
            if holders.is_empty() {
                unheld.push(outgoing);
                continue;
            }
            ids.push(outgoing.id);
            let entry = Entry {
                outgoing,
                holders: holders.clone(),
            };
            state.entries.insert(entry.outgoing.id, entry);
        }
        drop(state);
        // Dropped outside the lock: the last clone of a `Reply` wakes its
        // receiver.
        drop(unheld);
        ids
    }

    /// The message whose `Reply`s these are reached no child after all.
    pub(crate) fn unsent(&self, ids: &[u64]) {
        let removed: Vec<Entry> = {
            let mut state = self.state();
            ids.iter()
                .filter_map(|id| state.entries.remove(id))
                .collect()
        };
        drop(removed);
    }

    /// Child `child` answers through `id` with `bytes`.
    ///
    /// The answer is decoded and queued with no lock held, and a panic
    /// there (the answer's `Deserialize` or `Drop`, a waiting task's waker:
    /// the user's code) is caught: it is this child's answer that could not
    /// be taken, and the caller ends the child, while the host and the
    /// other children go on.
    ///
    /// # Errors
    /// Why the answer is not the protocol's: an id the child does not hold,
    /// or bytes that do not decode as the reply type, or decoding or
    /// queueing them panicked.
    pub(crate) fn deliver(&self, child: u64, id: u64, bytes: &[u8]) -> Result<(), String> {
        let (answer, deliver) = {
            let state = self.state();
            match state.entries.get(&id) {
                Some(entry) if entry.holders.contains(&child) => {
                    (entry.outgoing.answer, Arc::clone(&entry.outgoing.deliver))
                }
                _ => {
                    return Err(format!(
                        "it answered through reply id {id}, which it does not hold"
                    ));
                }
            }
        };
        // The clone is dropped inside too: when the registry let go of the
        // entry meanwhile, it is the last one, and closes the channel.
        panic::catch_unwind(AssertUnwindSafe(move || deliver(bytes))).unwrap_or_else(|payload| {
            Err(format!(
                "the host panicked taking its answer as `{answer}` (decoding it, or queueing it for the `Replies`): {}",
                panic_message(payload)
            ))
        })
    }

    /// Child `child` let go of `id`.
    ///
    /// # Errors
    /// When it did not hold `id`.
    pub(crate) fn release(&self, child: u64, id: u64) -> Result<(), String> {
        let removed = {
            let mut state = self.state();
            let Some(entry) = state.entries.get_mut(&id) else {
                return Err(format!(
                    "it let go of reply id {id}, which it does not hold"
                ));
            };
            if !entry.holders.remove(&child) {
                return Err(format!(
                    "it let go of reply id {id}, which it does not hold"
                ));
            }
            if entry.holders.is_empty() {
                state.entries.remove(&id)
            } else {
                None
            }
        };
        drop(removed);
        Ok(())
    }

    /// Child `child` ended: it takes nothing more and holds nothing more.
    /// Never panics: it runs as a thread ends, maybe unwinding already.
    pub(crate) fn ended(&self, child: u64) {
        let removed: Vec<Entry> = {
            let mut state = self.state();
            state.receivers.remove(&child);
            let mut emptied = Vec::new();
            for (id, entry) in &mut state.entries {
                if entry.holders.remove(&child) && entry.holders.is_empty() {
                    emptied.push(*id);
                }
            }
            emptied
                .iter()
                .filter_map(|id| state.entries.remove(id))
                .collect()
        };
        // One by one: a waker that panics as its channel closes (the panic
        // hook has told of it) must not leave the others open.
        for entry in removed {
            let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(entry)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Weak;
    use std::sync::atomic::AtomicBool;

    use super::*;

    /// An entry for `id` that takes any answer.
    fn outgoing(id: u64) -> Outgoing {
        Outgoing {
            id,
            answer: "u8",
            deliver: Arc::new(|_| Ok(())),
        }
    }

    fn ids(registry: &Registry) -> Vec<u64> {
        let mut ids: Vec<u64> = registry.state().entries.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn an_answer_is_taken_with_the_lock_free_and_a_panic_there_is_the_childs_error() {
        let registry = Arc::new(Registry::default());
        let child = registry.serial();
        registry.join(child);
        let weak: Weak<Registry> = Arc::downgrade(&registry);
        let free = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&free);
        let deliver: crate::reply::remote::Deliver = Arc::new(move |bytes| {
            let registry = weak.upgrade().expect("the test keeps the registry");
            seen.store(registry.state.try_lock().is_ok(), Ordering::SeqCst);
            assert_ne!(bytes, [13], "unlucky");
            Ok(())
        });
        let sent = registry.sent(vec![Outgoing {
            id: 7,
            answer: "u8",
            deliver,
        }]);
        assert_eq!(sent, [7]);

        registry.deliver(child, 7, &[1]).unwrap();
        assert!(free.load(Ordering::SeqCst), "the lock was held");
        let error = registry.deliver(child, 7, &[13]).unwrap_err();
        assert!(
            error.starts_with(
                "the host panicked taking its answer as `u8` (decoding it, or queueing it for the `Replies`): assertion `left != right` failed: unlucky"
            ),
            "{error}"
        );
        // Nothing was poisoned or lost: the child lets go, and it is gone.
        registry.release(child, 7).unwrap();
        assert!(ids(&registry).is_empty());
    }

    #[test]
    fn an_id_goes_once_every_child_sent_it_let_go_or_ended_or_it_went_nowhere() {
        let registry = Registry::default();
        let (a, b) = (registry.serial(), registry.serial());
        registry.join(a);
        registry.join(b);
        assert_eq!(registry.sent(vec![outgoing(1), outgoing(2)]), [1, 2]);
        // Refused by the host (a full queue for `try_send`): held by none.
        assert_eq!(registry.sent(vec![outgoing(3)]), [3]);
        registry.unsent(&[3]);
        assert_eq!(ids(&registry), [1, 2]);

        // `b` is replaced: it keeps what it holds and takes nothing new.
        registry.leave(b);
        assert_eq!(registry.sent(vec![outgoing(4)]), [4]);
        registry.release(a, 1).unwrap();
        registry.release(a, 4).unwrap();
        assert_eq!(ids(&registry), [1, 2], "`b` holds 1 and 2, not 4");
        assert!(registry.release(b, 4).is_err());
        registry.release(b, 1).unwrap();
        registry.ended(b);
        assert_eq!(ids(&registry), [2], "`a` holds 2");
        registry.ended(a);
        assert!(ids(&registry).is_empty());

        // With no child to take it, a message's `Reply` is held by none.
        assert!(registry.sent(vec![outgoing(5)]).is_empty());
        assert!(ids(&registry).is_empty());
    }
}
