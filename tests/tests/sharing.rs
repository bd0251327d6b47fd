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
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<String>::new();
        host.attach(Addresses(Arc::clone(&seen[0])));
        host.attach_blocking(Addresses(Arc::clone(&seen[1])));
        host.send(Arc::clone(&shared)).await.unwrap();
        host.end().await;
    });
    for record in &seen {
        assert_eq!(*record.lock().unwrap(), [Arc::as_ptr(&shared) as usize]);
    }
    assert_eq!(
        Arc::strong_count(&shared),
        1,
        "every plugin dropped its reference"
    );
}
