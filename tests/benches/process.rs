//! The cost of isolation: one sender, N plugins, `Job::Add` messages, each
//! delivered to every plugin. In the same run:
//!
//! - `process_host`: mpplugin's process host, each plugin (the
//!   `process-steady` fixture) in a child process of its own;
//! - `hand_wired_processes`: the floor for that transport, serialise once
//!   and write the bytes to N children over the same kind of socket, no
//!   acknowledgements, no queue in the host, the children decode and count;
//! - `std_host`: the same plugin library loaded into the host, on the std
//!   host's threads.
//!
//! Children are started and plugins loaded before the clock runs; an
//! iteration sends, then ends (every child drained and waited for), so that
//! "sent" means "handled". divan's throughput column reads in deliveries
//! (messages × N) per second. This program is the children too: its `main`
//! begins with the process host's line.
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench process
//! ```

use std::io::{BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};

use divan::Bencher;
use divan::counter::ItemsCount;
use fixture_process_types::Job;
use mpplugin_tests::fixtures::fixture;

/// Puts this program in the hand-wired baseline's child mode.
const RAW_CHILD: &str = "MPPLUGIN_BENCH_RAW_CHILD";

fn main() {
    mpplugin::process::child_main::<Job>();
    if std::env::var_os(RAW_CHILD).is_some() {
        raw_child();
        return;
    }
    divan::main();
}

const PLUGINS: [usize; 3] = [1, 4, 16];

/// Messages per iteration.
const MESSAGES: u64 = 20_000;

fn deliveries(plugins: usize) -> ItemsCount {
    ItemsCount::new(MESSAGES as usize * plugins)
}

#[divan::bench(args = PLUGINS, sample_count = 10, sample_size = 1)]
fn process_host(bencher: Bencher<'_, '_>, plugins: usize) {
    let library = fixture("process-steady");
    bencher
        .counter(deliveries(plugins))
        .with_inputs(|| {
            let mut host = mpplugin::process::Host::<Job>::new();
            for _ in 0..plugins {
                host.attach(library).expect("the steady plugin starts");
            }
            host
        })
        .bench_local_values(|mut host| {
            for value in 0..MESSAGES {
                host.send(Job::Add(value)).unwrap();
            }
            let exits = host.end();
            assert!(exits.iter().all(|exit| exit.handled == MESSAGES));
        });
}

#[divan::bench(args = PLUGINS, sample_count = 10, sample_size = 1)]
fn hand_wired_processes(bencher: Bencher<'_, '_>, plugins: usize) {
    let program = std::env::current_exe().unwrap();
    bencher
        .counter(deliveries(plugins))
        .with_inputs(|| {
            (0..plugins)
                .map(|_| {
                    let (ours, theirs) = UnixStream::pair().unwrap();
                    let child = Command::new(&program)
                        .env(RAW_CHILD, "1")
                        .stdin(Stdio::from(OwnedFd::from(theirs)))
                        .spawn()
                        .unwrap();
                    (ours, child)
                })
                .collect::<Vec<(UnixStream, Child)>>()
        })
        .bench_local_values(|children| {
            for value in 0..MESSAGES {
                let body = postcard::to_allocvec(&Job::Add(value)).unwrap();
                let mut frame = (body.len() as u32).to_le_bytes().to_vec();
                frame.extend_from_slice(&body);
                for (socket, _) in &children {
                    (&*socket).write_all(&frame).unwrap();
                }
            }
            for (socket, mut child) in children {
                drop(socket);
                assert!(child.wait().unwrap().success());
            }
        });
}

#[divan::bench(args = PLUGINS, sample_count = 10, sample_size = 1)]
fn std_host(bencher: Bencher<'_, '_>, plugins: usize) {
    // SAFETY: a fixture of this repository, built by the test harness with
    // this toolchain.
    let library = unsafe { mpplugin::PluginLibrary::open(fixture("process-steady")) }.unwrap();
    bencher
        .counter(deliveries(plugins))
        .with_inputs(|| {
            let mut host = mpplugin::Host::<Job>::new();
            for _ in 0..plugins {
                host.attach(library.instantiate::<Job>().unwrap());
            }
            host
        })
        .bench_local_values(|mut host| {
            for value in 0..MESSAGES {
                host.send(Job::Add(value)).unwrap();
            }
            let exits = host.end();
            assert!(exits.iter().all(|exit| exit.handled == MESSAGES));
        });
}

/// The baseline's child: reads length-prefixed postcard frames from its
/// standard input, decodes and counts them, and exits at end of stream.
fn raw_child() {
    use std::io::Read;
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut sum = 0_u64;
    let mut length = [0; 4];
    let mut body = Vec::new();
    while input.read_exact(&mut length).is_ok() {
        body.resize(u32::from_le_bytes(length) as usize, 0);
        input.read_exact(&mut body).unwrap();
        if let Job::Add(value) = postcard::from_bytes::<Job>(&body).unwrap() {
            sum = sum.wrapping_add(value);
        }
    }
    std::hint::black_box(sum);
}
