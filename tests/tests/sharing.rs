//! A message is shared, never copied: `send` takes `T`, `Arc<T>` or
//! `Message<T>`, and every plugin receives the same allocation.

use std::sync::{Arc, Mutex};

use mpplugin::{Message, Plugin};

/// Records the address of every message it receives.
struct Addresses(Arc<Mutex<Vec<usize>>>);

impl Plugin<String> for Addresses {
    fn handle_message(&mut self, message: Message<String>) -> Option<u8> {
        self.0
            .lock()
            .unwrap()
            .push(Arc::as_ptr(message.as_arc()) as usize);
        None
    }
}

fn recorders(count: usize) -> Vec<Arc<Mutex<Vec<usize>>>> {
    (0..count).map(|_| Arc::default()).collect()
}

#[test]
fn the_std_host_sends_one_allocation_to_every_plugin() {
    let seen = recorders(3);
    let mut host = mpplugin::Host::<String>::new();
    for record in &seen {
        host.attach(Addresses(Arc::clone(record)));
    }
    let shared = Arc::new("shared".to_owned());
    let message = Message::new("message".to_owned());
    host.send(Arc::clone(&shared)).unwrap();
    host.send(message.clone()).unwrap();
    host.send("value".to_owned()).unwrap();
    host.end();
    for record in &seen {
        let record = record.lock().unwrap();
        assert_eq!(record[0], Arc::as_ptr(&shared) as usize);
        assert_eq!(record[1], Arc::as_ptr(message.as_arc()) as usize);
    }
    // The value sent by value was wrapped once and shared by all three.
    let third: Vec<usize> = seen
        .iter()
        .map(|record| record.lock().unwrap()[2])
        .collect();
    assert!(
        third.iter().all(|address| *address == third[0]),
        "{third:?}"
    );
}

#[test]
fn the_tokio_host_sends_one_allocation_to_every_plugin() {
    let seen = recorders(2);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let shared = Arc::new("shared".to_owned());
    let message = Message::new("message".to_owned());
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<String>::new();
        host.attach(Addresses(Arc::clone(&seen[0])));
        host.attach_blocking(Addresses(Arc::clone(&seen[1])));
        host.send(Arc::clone(&shared)).await.unwrap();
        host.send(message.clone()).await.unwrap();
        host.send("value".to_owned()).await.unwrap();
        assert_eq!(host.end().await.len(), 2);
    });
    for record in &seen {
        let record = record.lock().unwrap();
        assert_eq!(record.len(), 3);
        assert_eq!(record[0], Arc::as_ptr(&shared) as usize);
        assert_eq!(record[1], Arc::as_ptr(message.as_arc()) as usize);
    }
    // The value sent by value was wrapped once and shared by both.
    let third: Vec<usize> = seen
        .iter()
        .map(|record| record.lock().unwrap()[2])
        .collect();
    assert_eq!(third[0], third[1], "{third:?}");
    assert_eq!(
        (
            Arc::strong_count(&shared),
            Arc::strong_count(message.as_arc())
        ),
        (1, 1),
        "every plugin dropped its references"
    );
}

/// A message that counts its drops, each message apart, and panics in one
/// of them.
struct Fragile {
    drops: Arc<Mutex<Vec<usize>>>,
    index: usize,
    panics: bool,
}

impl Drop for Fragile {
    fn drop(&mut self) {
        self.drops.lock().unwrap()[self.index] += 1;
        if self.panics {
            panic!("a message's drop panicked");
        }
    }
}

/// Says when it holds its first message, waits at a gate, then detaches,
/// leaving the later messages in its queue.
struct DetachAtOnce {
    holding: std::sync::mpsc::Sender<()>,
    gate: std::sync::mpsc::Receiver<()>,
}

impl Plugin<Fragile> for DetachAtOnce {
    fn handle_message(&mut self, _: Message<Fragile>) -> Option<u8> {
        let _ = self.holding.send(());
        let _ = self.gate.recv();
        Some(1)
    }
}

#[test]
fn messages_left_in_a_queue_are_dropped_exactly_once_even_if_a_drop_panics() {
    let drops = Arc::new(Mutex::new(vec![0; 4]));
    let (gate, permits) = std::sync::mpsc::channel();
    let (holding, held) = std::sync::mpsc::channel();
    let mut host = mpplugin::Host::<Fragile>::new();
    host.attach_with_capacity(
        DetachAtOnce {
            holding,
            gate: permits,
        },
        8,
    );
    let fragile = |index| Fragile {
        drops: Arc::clone(&drops),
        index,
        panics: index == 2,
    };
    host.send(fragile(0)).unwrap();
    held.recv().unwrap();
    for index in 1..4 {
        host.send(fragile(index)).unwrap();
    }
    // Messages 1 to 3 wait in the queue; message 2's drop will panic when
    // the plugin's exit drops what it left.
    drop(gate);
    let exits = host.end();
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].ending, mpplugin::Ending::Detached(1));
    assert_eq!((exits[0].handled, exits[0].unhandled), (1, 3));
    assert_eq!(
        *drops.lock().unwrap(),
        [1, 1, 1, 1],
        "each message dropped once"
    );
}
