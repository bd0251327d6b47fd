//! Fan-out throughput: one sender, N plugins, `Arc<u64>` messages, each
//! delivered to every plugin. The hosts against hand-wired baselines, in the
//! same run: divan's throughput column reads in deliveries (messages × N) per
//! second.
//!
//! Every iteration starts the plugins, sends, and ends them (the queues
//! drained and the threads or tasks joined), for the hosts and the baselines
//! alike, so that "sent" means "handled".
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench throughput
//! ```

use std::hint::black_box;
use std::sync::{Arc, LazyLock, mpsc};
use std::thread;

use divan::Bencher;
use divan::counter::ItemsCount;
use mpplugin::{Message, Plugin};

fn main() {
    divan::main();
}

const PLUGINS: [usize; 3] = [1, 4, 16];

/// Messages per iteration for the queues that keep up...
const MESSAGES: u64 = 100_000;
/// ...and for `sync_channel(4)`, about a hundred times slower.
const MESSAGES_SLOW: u64 = 1_000;

/// What every plugin and baseline consumer does with a message: next to
/// nothing, so that the queue is what is measured.
#[derive(Default)]
struct Sum(u64);

impl Sum {
    fn add(&mut self, value: &u64) {
        self.0 = self.0.wrapping_add(*black_box(value));
    }
}

impl Plugin<u64> for Sum {
    fn handle_message(&mut self, message: Message<u64>) -> Option<u8> {
        self.add(&message);
        None
    }
}

impl Drop for Sum {
    fn drop(&mut self) {
        black_box(self.0);
    }
}

fn deliveries(messages: u64, plugins: usize) -> ItemsCount {
    ItemsCount::new(messages as usize * plugins)
}

/// The std host and its baselines: a thread per plugin.
mod std_threads {
    use super::*;

    #[divan::bench(args = PLUGINS, sample_count = 25, sample_size = 1)]
    fn mpplugin_host(bencher: Bencher<'_, '_>, plugins: usize) {
        bencher
            .counter(deliveries(MESSAGES, plugins))
            .bench_local(|| {
                let mut host = mpplugin::Host::<u64>::new();
                for _ in 0..plugins {
                    host.attach(Sum::default());
                }
                for value in 0..MESSAGES {
                    host.send(Arc::new(value)).unwrap();
                }
                host.end()
            });
    }

    /// How the queue capacity (`attach_with_capacity`) changes throughput:
    /// what `DEFAULT_CAPACITY` was picked from.
    #[divan::bench(consts = [16, 64, 256, 1024, 4096], args = [4, 16], sample_count = 15, sample_size = 1)]
    fn mpplugin_host_capacity<const CAPACITY: usize>(bencher: Bencher<'_, '_>, plugins: usize) {
        bencher
            .counter(deliveries(MESSAGES, plugins))
            .bench_local(|| {
                let mut host = mpplugin::Host::<u64>::new();
                for _ in 0..plugins {
                    host.attach_with_capacity(Sum::default(), CAPACITY);
                }
                for value in 0..MESSAGES {
                    host.send(Arc::new(value)).unwrap();
                }
                host.end()
            });
    }

    /// A hand-wired baseline: one channel per plugin thread, made by
    /// `channel`, each message sent to every thread, then the threads joined.
    fn channel_fan_out<S, R>(
        plugins: usize,
        messages: u64,
        channel: impl Fn() -> (S, R),
        send: impl Fn(&S, Arc<u64>),
    ) where
        R: IntoIterator<Item = Arc<u64>> + Send + 'static,
    {
        let (senders, threads): (Vec<_>, Vec<_>) = (0..plugins)
            .map(|_| {
                let (sender, receiver) = channel();
                let thread = thread::spawn(move || {
                    let mut sum = Sum::default();
                    for message in receiver {
                        sum.add(&message);
                    }
                });
                (sender, thread)
            })
            .unzip();
        for value in 0..messages {
            let message = Arc::new(value);
            for sender in &senders {
                send(sender, Arc::clone(&message));
            }
        }
        drop(senders);
        threads.into_iter().for_each(|t| t.join().unwrap());
    }

    /// Baseline (b): one `crossbeam_channel::bounded(1024)` per plugin thread.
    #[divan::bench(args = PLUGINS, sample_count = 25, sample_size = 1)]
    fn crossbeam_bounded_1024(bencher: Bencher<'_, '_>, plugins: usize) {
        bencher
            .counter(deliveries(MESSAGES, plugins))
            .bench_local(|| {
                channel_fan_out(
                    plugins,
                    MESSAGES,
                    || crossbeam_channel::bounded(1024),
                    |sender, message| {
                        sender.send(message).unwrap();
                    },
                );
            });
    }

    /// Baseline (a): one `std::sync::mpsc::sync_channel(4)` per plugin
    /// thread, the design of `message_plugins` 0.2.0 (2020).
    #[divan::bench(args = PLUGINS, sample_count = 10, sample_size = 1)]
    fn std_sync_channel_4(bencher: Bencher<'_, '_>, plugins: usize) {
        bencher
            .counter(deliveries(MESSAGES_SLOW, plugins))
            .bench_local(|| {
                channel_fan_out(
                    plugins,
                    MESSAGES_SLOW,
                    || mpsc::sync_channel(4),
                    |sender, message| {
                        sender.send(message).unwrap();
                    },
                );
            });
    }

    /// The ceiling: no queue, one thread calls every plugin in turn.
    #[divan::bench(args = PLUGINS, sample_count = 25, sample_size = 1)]
    fn direct_calls_no_queue(bencher: Bencher<'_, '_>, plugins: usize) {
        bencher
            .counter(deliveries(MESSAGES, plugins))
            .bench_local(|| {
                let mut sums: Vec<Box<dyn Plugin<u64>>> = (0..plugins)
                    .map(|_| Box::new(Sum::default()) as Box<dyn Plugin<u64>>)
                    .collect();
                for value in 0..MESSAGES {
                    let message = Message::new(value);
                    for sum in &mut sums {
                        sum.handle_message(message.clone());
                    }
                }
                sums
            });
    }
}

/// The tokio host and its baseline, on a runtime of two workers (the
/// machine's size); the sender is a task on it too.
mod tokio_tasks {
    use super::*;

    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("a tokio runtime")
    });

    fn run<F: Future + Send + 'static>(future: F) -> F::Output
    where
        F::Output: Send,
    {
        RUNTIME
            .block_on(RUNTIME.spawn(future))
            .expect("the benchmark task")
    }

    #[divan::bench(args = PLUGINS, sample_count = 25, sample_size = 1)]
    fn mpplugin_host(bencher: Bencher<'_, '_>, plugins: usize) {
        bencher
            .counter(deliveries(MESSAGES, plugins))
            .bench_local(|| {
                run(async move {
                    let mut host = mpplugin::tokio::Host::<u64>::new();
                    for _ in 0..plugins {
                        host.attach(Sum::default());
                    }
                    for value in 0..MESSAGES {
                        host.send(Arc::new(value)).await.unwrap();
                    }
                    host.end().await
                })
            });
    }

    /// The baseline: one `tokio::sync::mpsc::channel(1024)` per plugin task.
    #[divan::bench(args = PLUGINS, sample_count = 25, sample_size = 1)]
    fn tokio_mpsc_1024(bencher: Bencher<'_, '_>, plugins: usize) {
        bencher
            .counter(deliveries(MESSAGES, plugins))
            .bench_local(|| {
                run(async move {
                    let (senders, tasks): (Vec<_>, Vec<_>) = (0..plugins)
                        .map(|_| {
                            let (sender, mut receiver) =
                                tokio::sync::mpsc::channel::<Arc<u64>>(1024);
                            let task = tokio::spawn(async move {
                                let mut sum = Sum::default();
                                while let Some(message) = receiver.recv().await {
                                    sum.add(&message);
                                }
                            });
                            (sender, task)
                        })
                        .unzip();
                    for value in 0..MESSAGES {
                        let message = Arc::new(value);
                        for sender in &senders {
                            sender.send(Arc::clone(&message)).await.unwrap();
                        }
                    }
                    drop(senders);
                    for task in tasks {
                        task.await.unwrap();
                    }
                })
            });
    }
}
