//! The cost of isolation: one sender, N plugins. In the same run, for
//! throughput (`Job::Add` messages, each delivered to every plugin):
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
//! (messages × N) per second.
//!
//! And for latency, one request and its N replies (`round_trip_*`, one
//! round trip per iteration, so divan's times are per round trip): a
//! `Job::Ask` carrying a `Reply`, answered by every plugin, on the process
//! host and on the std host; hand-wired, a request serialised once and
//! written to N children, each of which writes back its answer, read from
//! each socket in turn.
//!
//! This program is the children too: its `main` begins with the process
//! host's line.
//!
//! ```sh
//! cargo bench -p mpplugin-tests --bench process
//! ```

use std::io::{BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use divan::Bencher;
use divan::counter::ItemsCount;
use fixture_process_types::Job;
use mpplugin::reply;
use mpplugin_tests::fixtures::fixture;

/// Puts this program in the hand-wired baseline's child mode: `count`, or
/// `answer` (each message answered with the sum so far).
const RAW_CHILD: &str = "MPPLUGIN_BENCH_RAW_CHILD";

fn main() {
    mpplugin::process::child_main::<Job>();
    if let Some(mode) = std::env::var_os(RAW_CHILD) {
        raw_child(mode == "answer");
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
                .map(|_| raw_child_process(&program, "count"))
                .collect::<Vec<(UnixStream, Child)>>()
        })
        .bench_local_values(|children| {
            for value in 0..MESSAGES {
                let frame = raw_frame(&Job::Add(value));
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

#[divan::bench(args = PLUGINS)]
fn round_trip_process_host(bencher: Bencher<'_, '_>, plugins: usize) {
    let library = fixture("process-steady");
    let mut host = mpplugin::process::Host::<Job>::new();
    for _ in 0..plugins {
        host.attach(library).expect("the steady plugin starts");
    }
    bencher.bench_local(|| {
        let (reply, replies) = reply::channel();
        host.send(Job::Ask(reply)).unwrap();
        for _ in 0..plugins {
            replies.recv().unwrap();
        }
    });
    assert!(host.end().iter().all(|exit| exit.unhandled == 0));
}

#[divan::bench(args = PLUGINS)]
fn round_trip_hand_wired(bencher: Bencher<'_, '_>, plugins: usize) {
    let program = std::env::current_exe().unwrap();
    let children: Vec<(UnixStream, Child)> = (0..plugins)
        .map(|_| raw_child_process(&program, "answer"))
        .collect();
    let mut readers: Vec<BufReader<&UnixStream>> = children
        .iter()
        .map(|(socket, _)| BufReader::new(socket))
        .collect();
    let mut value = 0;
    bencher.bench_local(|| {
        value += 1;
        let frame = raw_frame(&Job::Add(value));
        for (socket, _) in &children {
            (&*socket).write_all(&frame).unwrap();
        }
        for reader in &mut readers {
            let mut body = Vec::new();
            read_raw_frame(reader, &mut body).unwrap();
            postcard::from_bytes::<u64>(&body).unwrap();
        }
    });
    drop(readers);
    for (socket, mut child) in children {
        drop(socket);
        assert!(child.wait().unwrap().success());
    }
}

#[divan::bench(args = PLUGINS)]
fn round_trip_std_host(bencher: Bencher<'_, '_>, plugins: usize) {
    // SAFETY: a fixture of this repository, built by the test harness with
    // this toolchain.
    let library = unsafe { mpplugin::PluginLibrary::open(fixture("process-steady")) }.unwrap();
    let mut host = mpplugin::Host::<Job>::new();
    for _ in 0..plugins {
        host.attach(library.instantiate::<Job>().unwrap());
    }
    bencher.bench_local(|| {
        let (reply, replies) = reply::channel();
        host.send(Job::Ask(reply)).unwrap();
        for _ in 0..plugins {
            replies.recv().unwrap();
        }
    });
    assert!(host.end().iter().all(|exit| exit.unhandled == 0));
}

/// A baseline child, this program in `mode`, with its socket.
fn raw_child_process(program: &Path, mode: &str) -> (UnixStream, Child) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let child = Command::new(program)
        .env(RAW_CHILD, mode)
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .spawn()
        .unwrap();
    (ours, child)
}

/// The baseline's frame of a job: a 4-byte length, then the postcard
/// encoding.
fn raw_frame(job: &Job) -> Vec<u8> {
    with_length(&postcard::to_allocvec(job).unwrap())
}

/// `body` after its 4-byte length.
fn with_length(body: &[u8]) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(body);
    frame
}

/// Reads one baseline frame's body into `body`.
fn read_raw_frame(input: &mut impl Read, body: &mut Vec<u8>) -> std::io::Result<()> {
    let mut length = [0; 4];
    input.read_exact(&mut length)?;
    body.resize(u32::from_le_bytes(length) as usize, 0);
    input.read_exact(body)
}

/// The baseline's child: reads frames from its standard input (its socket),
/// decodes and counts them, answers each with the sum so far if `answer`,
/// and exits at end of stream.
fn raw_child(answer: bool) {
    let socket = UnixStream::from(std::io::stdin().as_fd().try_clone_to_owned().unwrap());
    let mut input = BufReader::new(&socket);
    let mut sum = 0_u64;
    let mut body = Vec::new();
    while read_raw_frame(&mut input, &mut body).is_ok() {
        if let Job::Add(value) = postcard::from_bytes::<Job>(&body).unwrap() {
            sum = sum.wrapping_add(value);
        }
        if answer {
            (&socket)
                .write_all(&with_length(&postcard::to_allocvec(&sum).unwrap()))
                .unwrap();
        }
    }
    std::hint::black_box(sum);
}
