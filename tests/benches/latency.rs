//! Latency from `send` to handled, p50 and p99, for the hosts and hand-wired
//! baselines in the same run.
//!
//! The sender stamps a message with `Instant::now()` and sends it; every
//! plugin reads the clock when it handles it and replies with the difference.
//! The sender waits for every reply before the next message, so each message
//! finds its plugins asleep: this is the latency of a request that wakes
//! them (the reply's own trip is not counted).
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench latency
//! ```

use std::sync::{Arc, LazyLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use mpplugin::{Message, Plugin};

/// Round trips measured per line, after as many again to warm up.
const ROUNDS: usize = 5_000;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, as with divan,
    // keeps only the lines whose name contains it.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    println!("latency from send to handled, {ROUNDS} messages, each awaited before the next");
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "", "p50 (µs)", "p99 (µs)", "max (µs)"
    );
    for plugins in [1, 4] {
        let lines: [(&str, Measure); 5] = [
            ("std: mpplugin::Host", std_host),
            ("std: crossbeam_channel::bounded(1024)", crossbeam),
            ("std: std::sync::mpsc::sync_channel(4)", sync_channel),
            ("tokio: mpplugin::tokio::Host", tokio_host),
            ("tokio: tokio::sync::mpsc::channel(1024)", tokio_mpsc),
        ];
        for (name, measure) in lines {
            let name = format!("{name}, N = {plugins}");
            if filter.as_ref().is_some_and(|filter| !name.contains(filter)) {
                continue;
            }
            let mut latencies = measure(plugins);
            latencies.sort_unstable();
            let at = |fraction: f64| {
                let index = ((latencies.len() - 1) as f64 * fraction).round() as usize;
                latencies[index].as_secs_f64() * 1e6
            };
            println!(
                "{name:<44} {:>10.1} {:>10.1} {:>10.1}",
                at(0.50),
                at(0.99),
                at(1.0)
            );
        }
    }
}

/// Runs `plugins` plugins through `rounds` and returns every latency.
type Measure = fn(usize) -> Vec<Duration>;

/// Sends `2 × ROUNDS` stamps through `send`, waits for `plugins` replies
/// after each, and keeps the second half.
fn rounds(
    plugins: usize,
    mut send: impl FnMut(Instant),
    mut reply: impl FnMut() -> Duration,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(ROUNDS * plugins);
    for round in 0..2 * ROUNDS {
        send(Instant::now());
        for _ in 0..plugins {
            let latency = reply();
            if round >= ROUNDS {
                latencies.push(latency);
            }
        }
    }
    latencies
}

/// A plugin that replies with how long ago its message was stamped.
struct Stamp<R: Fn(Duration)>(R);

impl<R: Fn(Duration) + Send + 'static> Plugin<Instant> for Stamp<R> {
    fn handle_message(&mut self, message: Message<Instant>) -> Option<u8> {
        (self.0)(message.elapsed());
        None
    }
}

fn std_host(plugins: usize) -> Vec<Duration> {
    let (replies, reply) = mpsc::channel();
    let mut host = mpplugin::Host::<Instant>::new();
    for _ in 0..plugins {
        let replies = replies.clone();
        host.attach(Stamp(move |latency| replies.send(latency).unwrap()));
    }
    let latencies = rounds(
        plugins,
        |stamp| {
            host.send(stamp).unwrap();
        },
        || reply.recv().unwrap(),
    );
    host.end();
    latencies
}

/// A thread per plugin fed by one channel each, made by `channel`.
fn threads<S: Send + 'static>(
    plugins: usize,
    channel: impl Fn() -> (S, Box<dyn FnMut() -> Option<Arc<Instant>> + Send>),
    send: impl Fn(&S, Arc<Instant>),
) -> Vec<Duration> {
    let (replies, reply) = mpsc::channel();
    let (senders, threads): (Vec<_>, Vec<_>) = (0..plugins)
        .map(|_| {
            let (sender, mut receive) = channel();
            let replies = replies.clone();
            let thread = thread::spawn(move || {
                while let Some(stamp) = receive() {
                    replies.send(stamp.elapsed()).unwrap();
                }
            });
            (sender, thread)
        })
        .unzip();
    let latencies = rounds(
        plugins,
        |stamp| {
            let stamp = Arc::new(stamp);
            for sender in &senders {
                send(sender, Arc::clone(&stamp));
            }
        },
        || reply.recv().unwrap(),
    );
    drop(senders);
    threads.into_iter().for_each(|t| t.join().unwrap());
    latencies
}

fn crossbeam(plugins: usize) -> Vec<Duration> {
    threads(
        plugins,
        || {
            let (sender, receiver) = crossbeam_channel::bounded(1024);
            (sender, Box::new(move || receiver.recv().ok()))
        },
        |sender, stamp| sender.send(stamp).unwrap(),
    )
}

fn sync_channel(plugins: usize) -> Vec<Duration> {
    threads(
        plugins,
        || {
            let (sender, receiver) = mpsc::sync_channel(4);
            (sender, Box::new(move || receiver.recv().ok()))
        },
        |sender, stamp| sender.send(stamp).unwrap(),
    )
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime")
});

fn tokio_host(plugins: usize) -> Vec<Duration> {
    RUNTIME
        .block_on(RUNTIME.spawn(async move {
            let (replies, mut reply) = tokio::sync::mpsc::unbounded_channel();
            let mut host = mpplugin::tokio::Host::<Instant>::new();
            for _ in 0..plugins {
                let replies = replies.clone();
                host.attach(Stamp(move |latency| replies.send(latency).unwrap()));
            }
            let mut latencies = Vec::with_capacity(ROUNDS * plugins);
            for round in 0..2 * ROUNDS {
                host.send(Instant::now()).await.unwrap();
                for _ in 0..plugins {
                    let latency = reply.recv().await.unwrap();
                    if round >= ROUNDS {
                        latencies.push(latency);
                    }
                }
            }
            host.end().await;
            latencies
        }))
        .unwrap()
}

fn tokio_mpsc(plugins: usize) -> Vec<Duration> {
    RUNTIME
        .block_on(RUNTIME.spawn(async move {
            let (replies, mut reply) = tokio::sync::mpsc::unbounded_channel();
            let (senders, tasks): (Vec<_>, Vec<_>) = (0..plugins)
                .map(|_| {
                    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Arc<Instant>>(1024);
                    let replies = replies.clone();
                    let task = tokio::spawn(async move {
                        while let Some(stamp) = receiver.recv().await {
                            replies.send(stamp.elapsed()).unwrap();
                        }
                    });
                    (sender, task)
                })
                .unzip();
            let mut latencies = Vec::with_capacity(ROUNDS * plugins);
            for round in 0..2 * ROUNDS {
                let stamp = Arc::new(Instant::now());
                for sender in &senders {
                    sender.send(Arc::clone(&stamp)).await.unwrap();
                }
                for _ in 0..plugins {
                    let latency = reply.recv().await.unwrap();
                    if round >= ROUNDS {
                        latencies.push(latency);
                    }
                }
            }
            drop(senders);
            for task in tasks {
                task.await.unwrap();
            }
            latencies
        }))
        .unwrap()
}
