//! Memory per attached plugin, std and tokio hosts, against hand-wired
//! baselines: the growth of live heap bytes (counted by this binary's global
//! allocator) and of the resident set (`/proc/self/statm`, which also sees
//! thread stacks) while K plugins are attached and running, divided by K.
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench memory
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::thread;

use mpplugin::{Message, Plugin};

/// The system allocator, counting the bytes live. In-process plugins only:
/// a loaded plugin would free with its own allocator what this one counted.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to `System` unchanged; the counter is a side
// effect that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Plugins attached per measurement.
const THREADS: usize = 64;
const TASKS: usize = 1024;

fn resident_bytes() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: isize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Memory before `attach` and after, once every plugin has handled one
/// message (so that its thread or task has run), per plugin.
fn measure(
    plugins: usize,
    attach: impl FnOnce(Arc<AtomicUsize>) -> Box<dyn FnOnce()>,
) -> (f64, f64) {
    let started = Arc::new(AtomicUsize::new(0));
    let (heap, rss) = (LIVE.load(Ordering::SeqCst), resident_bytes());
    let end = attach(Arc::clone(&started));
    while started.load(Ordering::SeqCst) < plugins {
        thread::yield_now();
    }
    let (heap_after, rss_after) = (LIVE.load(Ordering::SeqCst), resident_bytes());
    end();
    let per = |before: isize, after: isize| (after - before) as f64 / plugins as f64 / 1024.0;
    (per(heap, heap_after), per(rss, rss_after))
}

/// Counts its first message.
struct Started(Arc<AtomicUsize>, bool);

impl Started {
    fn handle(&mut self) {
        if !self.1 {
            self.1 = true;
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Plugin<u64> for Started {
    fn handle_message(&mut self, _: Message<u64>) -> Option<u8> {
        self.handle();
        None
    }
}

fn std_host(started: Arc<AtomicUsize>) -> Box<dyn FnOnce()> {
    let mut host = mpplugin::Host::<u64>::new();
    for _ in 0..THREADS {
        host.attach(Started(Arc::clone(&started), false));
    }
    host.send(0).unwrap();
    Box::new(move || {
        host.end();
    })
}

fn crossbeam_threads(started: Arc<AtomicUsize>) -> Box<dyn FnOnce()> {
    let (senders, threads): (Vec<_>, Vec<_>) = (0..THREADS)
        .map(|_| {
            let (sender, receiver) = crossbeam_channel::bounded::<Arc<u64>>(1024);
            let mut plugin = Started(Arc::clone(&started), false);
            let thread = thread::spawn(move || {
                for _ in receiver {
                    plugin.handle();
                }
            });
            (sender, thread)
        })
        .unzip();
    let message = Arc::new(0);
    for sender in &senders {
        sender.send(Arc::clone(&message)).unwrap();
    }
    Box::new(move || {
        drop(senders);
        threads.into_iter().for_each(|t| t.join().unwrap());
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime")
}

fn tokio_host(
    runtime: &tokio::runtime::Runtime,
) -> impl FnOnce(Arc<AtomicUsize>) -> Box<dyn FnOnce()> + '_ {
    move |started| {
        let mut host = runtime.block_on(async {
            let mut host = mpplugin::tokio::Host::<u64>::new();
            for _ in 0..TASKS {
                host.attach(Started(Arc::clone(&started), false));
            }
            host.send(0).await.unwrap();
            host
        });
        let handle = runtime.handle().clone();
        Box::new(move || {
            handle.block_on(async move {
                host.send(1).await.unwrap();
                host.end().await;
            });
        })
    }
}

fn tokio_mpsc(
    runtime: &tokio::runtime::Runtime,
) -> impl FnOnce(Arc<AtomicUsize>) -> Box<dyn FnOnce()> + '_ {
    move |started| {
        let (senders, tasks): (Vec<_>, Vec<_>) = runtime.block_on(async {
            let channels: (Vec<_>, Vec<_>) = (0..TASKS)
                .map(|_| {
                    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Arc<u64>>(1024);
                    let mut plugin = Started(Arc::clone(&started), false);
                    let task = tokio::spawn(async move {
                        while receiver.recv().await.is_some() {
                            plugin.handle();
                        }
                    });
                    (sender, task)
                })
                .unzip();
            let message = Arc::new(0);
            for sender in &channels.0 {
                sender.send(Arc::clone(&message)).await.unwrap();
            }
            channels
        });
        let handle = runtime.handle().clone();
        Box::new(move || {
            drop(senders);
            handle.block_on(async move {
                for task in tasks {
                    task.await.unwrap();
                }
            });
        })
    }
}

fn main() {
    println!("memory per attached plugin (KiB): live heap and resident set growth, divided by K");
    println!("{:<52} {:>10} {:>10}", "", "heap", "resident");
    let print =
        |name: &str, (heap, rss): (f64, f64)| println!("{name:<52} {heap:>10.1} {rss:>10.1}");
    // Warm up what the first thread or runtime allocates once.
    measure(1, std_host_one);
    print(
        &format!("std: mpplugin::Host, K = {THREADS} threads"),
        measure(THREADS, std_host),
    );
    print(
        &format!("std: crossbeam_channel::bounded(1024), K = {THREADS}"),
        measure(THREADS, crossbeam_threads),
    );
    let runtime = runtime();
    measure(TASKS, tokio_host(&runtime));
    print(
        &format!("tokio: mpplugin::tokio::Host, K = {TASKS} tasks"),
        measure(TASKS, tokio_host(&runtime)),
    );
    measure(TASKS, tokio_mpsc(&runtime));
    print(
        &format!("tokio: tokio::sync::mpsc::channel(1024), K = {TASKS}"),
        measure(TASKS, tokio_mpsc(&runtime)),
    );
}

fn std_host_one(started: Arc<AtomicUsize>) -> Box<dyn FnOnce()> {
    let mut host = mpplugin::Host::<u64>::new();
    host.attach(Started(started, false));
    host.send(0).unwrap();
    Box::new(move || {
        host.end();
    })
}
