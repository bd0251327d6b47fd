//! In-process plugins that record what they see.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use mpplugin::{Message, Plugin};

/// What a [`Probe`] saw, shared with the test.
#[derive(Default)]
pub struct Record {
    /// How many messages the probe began to handle (before its gate).
    pub started: AtomicU64,
    /// Every message handled, in order.
    pub seen: Mutex<Vec<u64>>,
    /// Set when the probe is dropped.
    pub dropped: AtomicBool,
    /// Messages handled after the probe was dropped: must stay 0.
    pub calls_after_drop: AtomicU64,
}

impl Record {
    /// A copy of the messages seen so far.
    pub fn seen(&self) -> Vec<u64> {
        self.seen.lock().unwrap().clone()
    }
}

/// A plugin of `u64` messages that records them and can be told to detach,
/// panic, or wait for a permit before each message.
pub struct Probe {
    record: Arc<Record>,
    detach_at: Option<(u64, u8)>,
    panic_at: Option<u64>,
    panic_on_drop: bool,
    gate: Option<Receiver<()>>,
    /// Dropped right after the probe's `Drop` ran: its drop tells the test
    /// that the probe is gone.
    _held: Option<Box<dyn std::any::Any + Send>>,
}

impl Probe {
    /// A probe and the record it writes.
    pub fn new() -> (Self, Arc<Record>) {
        let record = Arc::new(Record::default());
        let probe = Self {
            record: Arc::clone(&record),
            detach_at: None,
            panic_at: None,
            panic_on_drop: false,
            gate: None,
            _held: None,
        };
        (probe, record)
    }

    /// Returns `Some(status)` on message `value`.
    pub fn detach_at(mut self, value: u64, status: u8) -> Self {
        self.detach_at = Some((value, status));
        self
    }

    /// Panics on message `value`.
    pub fn panic_at(mut self, value: u64) -> Self {
        self.panic_at = Some(value);
        self
    }

    /// Panics when dropped.
    pub fn panic_on_drop(mut self) -> Self {
        self.panic_on_drop = true;
        self
    }

    /// Keeps `value` until the probe is dropped (a sender whose drop opens
    /// a gate, say).
    pub fn holding(mut self, value: impl std::any::Any + Send) -> Self {
        self._held = Some(Box::new(value));
        self
    }

    /// Waits for one permit from `gate` before handling each message.
    pub fn gated(mut self, gate: Receiver<()>) -> Self {
        self.gate = Some(gate);
        self
    }
}

impl Plugin<u64> for Probe {
    fn handle_message(&mut self, message: Message<u64>) -> Option<u8> {
        if self.record.dropped.load(Ordering::SeqCst) {
            self.record.calls_after_drop.fetch_add(1, Ordering::SeqCst);
        }
        self.record.started.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            // A closed gate lets everything through.
            let _ = gate.recv();
        }
        self.record.seen.lock().unwrap().push(*message);
        if self.panic_at == Some(*message) {
            panic!("probe panicked at message {}", *message);
        }
        match self.detach_at {
            Some((value, status)) if value == *message => Some(status),
            _ => None,
        }
    }

    fn name(&self) -> &str {
        "probe"
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.record.dropped.store(true, Ordering::SeqCst);
        if self.panic_on_drop {
            panic!("probe panicked while dropped");
        }
    }
}

/// A plugin that checks it receives 0, 1, 2, … in order, and counts.
pub struct Sequence {
    next: u64,
    count: Arc<AtomicU64>,
}

impl Sequence {
    /// A sequence checker and its count.
    pub fn new() -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        (
            Self {
                next: 0,
                count: Arc::clone(&count),
            },
            count,
        )
    }
}

impl Plugin<u64> for Sequence {
    fn handle_message(&mut self, message: Message<u64>) -> Option<u8> {
        assert_eq!(*message, self.next, "out of order");
        self.next += 1;
        self.count.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// A request with a reply channel, as a plugin talks back to its host.
pub enum Request {
    /// Answer with the value doubled.
    Double(u64, SyncSender<u64>),
}

/// Answers [`Request`]s.
pub struct Doubler;

impl Plugin<Request> for Doubler {
    fn handle_message(&mut self, message: Message<Request>) -> Option<u8> {
        let Request::Double(value, reply) = &*message;
        reply.send(value * 2).expect("the host waits for the reply");
        None
    }
}
