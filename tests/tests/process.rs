//! The process host: real fixture cdylibs in real child processes (the
//! tests' `process-child` program), crashed in every way a plugin can crash,
//! beside a steady plugin that must lose nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use fixture_process_types::Job;
use mpplugin::process::{AttachError, Host, Options, SendError};
use mpplugin::{Ending, Exit, PluginId};
use mpplugin_tests::fixtures::fixture;
use mpplugin_tests::watchdog::{wait_until, watchdog};

const CHILD: &str = env!("CARGO_BIN_EXE_process-child");

fn host() -> Host<Job> {
    Host::with_program(CHILD)
}

fn crash() -> &'static Path {
    fixture("process-crash")
}

fn steady() -> &'static Path {
    fixture("process-steady")
}

/// Whether a process is gone (reaped, or a zombie nobody has reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the name in parentheses, which may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Sends `before` adds, `job`, then `after` adds to a steady plugin and the
/// crash plugin (with `options`), ends the host, and returns both exits and
/// how many messages reached the crash plugin's queue.
fn crash_beside_steady(job: Job, options: Options, before: u64, after: u64) -> (Exit, Exit, u64) {
    let _watchdog = watchdog(format!("crashing with {job:?}"), Duration::from_secs(120));
    let mut host = host();
    let steady_id = host.attach(steady()).expect("the steady plugin starts");
    let crash_id = host
        .attach_with_options(crash(), &0_u8, &options)
        .expect("the crash plugin starts");
    assert_eq!((steady_id.index(), crash_id.index()), (0, 1));
    let mut delivered = 0;
    let mut sent = 0;
    let mut send = |host: &mut Host<Job>, job: Job| {
        let delivery = host.send(job).expect("the steady plugin always runs");
        delivered += delivery.delivered as u64;
        sent += 1;
    };
    for _ in 0..before {
        send(&mut host, Job::Add(1));
    }
    send(&mut host, job);
    for _ in 0..after {
        send(&mut host, Job::Add(1));
    }
    let mut exits = host.end().into_iter();
    let (steady, crashed) = (exits.next().unwrap(), exits.next().unwrap());
    assert_eq!(steady.ending, Ending::Finished, "{steady}");
    assert_eq!(steady.handled, sent, "{steady}");
    assert_eq!(steady.unhandled, 0, "{steady}");
    (steady, crashed, delivered - sent)
}

fn assert_crash(job: Job, options: Options, expected: Ending) {
    let (_, crashed, reached) = crash_beside_steady(job, options, 20, 20);
    assert_eq!(crashed.ending, expected, "{crashed}");
    assert_eq!(crashed.handled, 20, "{crashed}");
    assert_eq!(crashed.handled + crashed.unhandled, reached, "{crashed}");
    assert!(crashed.name == "fixture-process-crash", "{crashed}");
}

#[test]
fn a_segfault_ends_only_its_plugin_with_sigsegv() {
    assert_crash(
        Job::Segfault,
        Options::new(),
        Ending::Killed(libc_signal::SEGV),
    );
}

#[test]
fn an_abort_ends_only_its_plugin_with_sigabrt() {
    assert_crash(
        Job::Abort,
        Options::new(),
        Ending::Killed(libc_signal::ABRT),
    );
}

#[test]
fn an_exit_ends_only_its_plugin_with_its_status() {
    assert_crash(Job::Exit(3), Options::new(), Ending::Exited(3));
}

#[test]
fn a_stack_overflow_ends_only_its_plugin_with_sigabrt() {
    // Rust's handler for the guard page says "has overflowed its stack" and
    // aborts.
    assert_crash(
        Job::Overflow,
        Options::new(),
        Ending::Killed(libc_signal::ABRT),
    );
}

#[test]
fn allocating_without_bound_under_a_memory_limit_ends_only_its_plugin() {
    let options = Options::new().memory_limit(1 << 30);
    assert_crash(Job::Allocate, options, Ending::Killed(libc_signal::ABRT));
}

#[test]
fn a_handler_past_its_deadline_is_ended_and_reported() {
    let options = Options::new().deadline(Duration::from_secs(1));
    assert_crash(Job::Spin, options, Ending::TimedOut(Duration::from_secs(1)));
}

#[test]
fn bytes_from_a_child_that_do_not_decode_end_that_child_not_the_host() {
    let (_, crashed, reached) = crash_beside_steady(Job::Garbage, Options::new(), 5, 5);
    let Ending::Broken(reason) = &crashed.ending else {
        panic!("{crashed}");
    };
    assert!(reason.contains("do not decode"), "{crashed}");
    assert!(crashed.handled <= 6, "{crashed}");
    assert_eq!(crashed.handled + crashed.unhandled, reached, "{crashed}");
}

#[test]
fn a_plugin_that_detaches_or_panics_in_its_child_says_so() {
    let (_, detached, reached) = crash_beside_steady(Job::Stop(4), Options::new(), 3, 3);
    assert_eq!(detached.ending, Ending::Detached(4), "{detached}");
    assert_eq!(detached.handled, 4, "{detached}");
    assert_eq!(detached.handled + detached.unhandled, reached, "{detached}");

    let (_, panicked, _) = crash_beside_steady(Job::Panic, Options::new(), 3, 3);
    assert_eq!(
        panicked.ending,
        Ending::Panicked("crash plugin panicked on request (sum 3)".to_owned()),
        "{panicked}"
    );
    assert_eq!(panicked.handled, 4, "{panicked}");
}

#[test]
fn the_argument_crosses_to_the_constructor() {
    let mut host = host();
    host.attach_with(crash(), &7_u8).unwrap();
    host.send(Job::Stop(1)).unwrap();
    let exits = host.end();
    assert_eq!(exits[0].ending, Ending::Detached(8), "{}", exits[0]);
}

#[test]
fn every_message_reaches_every_plugin_in_send_order_and_end_drains() {
    let _watchdog = watchdog("a steady run".to_owned(), Duration::from_secs(120));
    let mut host = host();
    let small = Options::new().capacity(2).window(1);
    for _ in 0..3 {
        host.attach_options(steady(), &small).unwrap();
    }
    host.attach_with_options(crash(), &0_u8, &small).unwrap();
    for n in 0..500 {
        assert_eq!(host.send(Job::Add(n)).unwrap().delivered, 4);
    }
    // The crash plugin's sum says every add arrived: 0 + 1 + ... + 499.
    host.send(Job::Panic).unwrap();
    let exits = host.end();
    for exit in &exits[..3] {
        assert_eq!(
            (exit.ending.clone(), exit.handled),
            (Ending::Finished, 501),
            "{exit}"
        );
    }
    assert_eq!(
        exits[3].ending,
        Ending::Panicked("crash plugin panicked on request (sum 124750)".to_owned())
    );
}

#[test]
fn send_reports_a_dead_child_gone_and_the_others_go_on() {
    let _watchdog = watchdog("a dead child".to_owned(), Duration::from_secs(120));
    let mut host = host();
    host.attach(steady()).unwrap();
    let crash_id = host.attach_with(crash(), &0_u8).unwrap();
    host.send(Job::Exit(9)).unwrap();
    let mut reported: Vec<PluginId> = Vec::new();
    let mut sends = 0;
    wait_until(
        "send to report the dead child",
        Duration::from_secs(60),
        || {
            let delivery = host.send(Job::Add(1)).unwrap();
            sends += 1;
            reported.extend(delivery.gone);
            !reported.is_empty()
        },
    );
    assert_eq!(reported, [crash_id]);
    assert_eq!(host.send(Job::Add(1)).unwrap().delivered, 1);
    let exits = host.end();
    assert_eq!(exits[0].handled, sends + 2, "{}", exits[0]);
    assert_eq!(exits[1].ending, Ending::Exited(9), "{}", exits[1]);
}

#[test]
fn a_message_that_does_not_serialise_is_handed_back_and_reaches_no_plugin() {
    let mut host = host();
    host.attach(steady()).unwrap();
    host.send(Job::Add(1)).unwrap();
    let error = host.send(Job::Unserialisable(5)).unwrap_err();
    assert!(error.to_string().contains("refused"), "{error}");
    let SendError::Encode { message, .. } = error else {
        panic!("{error:?}");
    };
    assert!(matches!(*message, Job::Unserialisable(5)), "{message:?}");
    let error = host.try_send(Job::Unserialisable(6)).unwrap_err();
    let message = error.into_message();
    assert!(matches!(*message, Job::Unserialisable(6)), "{message:?}");
    host.send(Job::Add(1)).unwrap();
    let exits = host.end();
    assert_eq!(exits[0].handled, 2, "{}", exits[0]);
}

#[test]
fn a_library_the_loader_refuses_is_an_error_at_attach_that_says_why() {
    let mut host = host();
    // Built for the other fixtures' message type.
    let error = host.attach(fixture("good")).unwrap_err();
    let AttachError::Refused { reason, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("fixture_types::Event"), "{error}");
    // A file that is no library.
    let error = host.attach(Path::new(CHILD)).unwrap_err();
    assert!(matches!(error, AttachError::Refused { .. }), "{error:?}");
    // An argument the child's `main` does not read.
    let error = host.attach_with(crash(), &"seven".to_owned()).unwrap_err();
    assert!(error.to_string().contains("does not read"), "{error}");
    assert!(host.is_empty());
}

#[test]
fn a_child_whose_main_reads_another_message_type_refuses_at_attach() {
    let mut host = Host::<u64>::with_program(CHILD);
    let error = host.attach(steady()).unwrap_err();
    let AttachError::Refused { reason, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("the host sends `u64`"), "{error}");
    assert!(reason.contains("fixture_process_types::Job"), "{error}");
}

#[test]
fn a_program_that_is_no_plugin_child_is_an_error_at_attach_that_says_how_it_ended() {
    let mut host = Host::<Job>::with_program("/bin/true");
    let error = host.attach(steady()).unwrap_err();
    assert!(matches!(error, AttachError::NoChild { .. }), "{error:?}");
    assert!(
        error.to_string().contains("exited with status 0"),
        "{error}"
    );
    assert!(error.to_string().contains("child_main"), "{error}");
}

#[test]
fn try_send_never_waits_and_queues_for_none_when_a_child_is_full() {
    let _watchdog = watchdog(
        "try_send on a full child".to_owned(),
        Duration::from_secs(120),
    );
    let mut host = host();
    let one = Options::new().capacity(1).window(1);
    host.attach(steady()).unwrap();
    let id = host.attach_with_options(crash(), &0_u8, &one).unwrap();
    host.send(Job::Spin).unwrap();
    // The spinning child acknowledges nothing: its window, the message its
    // proxy holds and its queue fill, and then every try_send is refused.
    let mut accepted = 0;
    let full = loop {
        match host.try_send(Job::Add(1)) {
            Ok(_) => accepted += 1,
            Err(mpplugin::process::TrySendError::Host(mpplugin::TrySendError::Full {
                full,
                message,
                ..
            })) => {
                assert!(matches!(*message, Job::Add(1)), "{message:?}");
                break full;
            }
            Err(error) => panic!("{error}"),
        }
        assert!(
            accepted <= 3,
            "a child that acknowledges nothing took {accepted} more"
        );
    };
    assert_eq!(full, [id]);
    let exits = host.end_timeout(Duration::ZERO);
    // Only what try_send accepted reached the steady plugin, besides the spin.
    assert_eq!(
        exits[0].handled + exits[0].unhandled,
        1 + accepted,
        "{}",
        exits[0]
    );
    assert_eq!(exits[1].ending, Ending::Abandoned, "{}", exits[1]);
}

#[test]
fn the_host_asks_only_serialize_of_a_message() {
    // `Cell` is not `Sync`: only its bytes would cross.
    let mut host = Host::<std::cell::Cell<u64>>::with_program(CHILD);
    let error = host.send(std::cell::Cell::new(5)).unwrap_err();
    assert!(matches!(error, SendError::NoPlugins(_)), "{error:?}");
    assert_eq!(error.into_message().get(), 5);
}

#[test]
fn a_missing_program_is_an_error_at_attach() {
    let mut host = Host::<Job>::with_program("/nonexistent/mpplugin-child");
    let error = host.attach(steady()).unwrap_err();
    assert!(matches!(error, AttachError::Start { .. }), "{error:?}");
    assert!(
        error.to_string().contains("/nonexistent/mpplugin-child"),
        "{error}"
    );
}

#[test]
fn a_host_dropped_without_end_kills_its_children() {
    let mut host = host();
    let id = host.attach_with(crash(), &0_u8).unwrap();
    let pid = host.pid(id).unwrap();
    host.send(Job::Spin).unwrap();
    drop(host);
    assert!(gone(pid), "child {pid} outlived its dropped host");
}

#[test]
fn end_by_stops_a_child_still_running_at_the_deadline_and_drains_the_others() {
    let _watchdog = watchdog("end_by".to_owned(), Duration::from_secs(120));
    let mut host = host();
    host.attach(steady()).unwrap();
    let id = host.attach_with(crash(), &0_u8).unwrap();
    let pid = host.pid(id).unwrap();
    for job in [Job::Add(1), Job::Spin, Job::Add(1)] {
        host.send(job).unwrap();
    }
    let exits = host.end_timeout(Duration::from_secs(5));
    assert_eq!(
        (exits[0].ending.clone(), exits[0].handled),
        (Ending::Finished, 3)
    );
    assert_eq!(exits[1].ending, Ending::Abandoned, "{}", exits[1]);
    assert_eq!(
        (exits[1].handled, exits[1].unhandled),
        (1, 2),
        "{}",
        exits[1]
    );
    assert!(gone(pid), "child {pid} outlived end_by");
}

#[test]
fn end_by_stops_a_replaced_child_still_running_at_the_deadline() {
    let _watchdog = watchdog("end_by after replace".to_owned(), Duration::from_secs(120));
    let mut host = host();
    let id = host.attach_with(crash(), &0_u8).unwrap();
    let old = host.pid(id).unwrap();
    host.send(Job::Spin).unwrap();
    // The old child never drains: the new one waits for it, and so would
    // `end_by` if it stopped only the latest child of each id.
    let replaced = host.replace(id, steady()).unwrap();
    let new = host.pid(id).unwrap();
    host.send(Job::Add(1)).unwrap();
    let exits = host.end_timeout(Duration::from_secs(1));
    assert_eq!(exits[0].ending, Ending::Abandoned, "{}", exits[0]);
    let exit = replaced.wait();
    assert_eq!(exit.ending, Ending::Abandoned, "{exit}");
    assert!(gone(old), "replaced child {old} outlived end_by");
    assert!(gone(new), "child {new} outlived end_by");
}

#[test]
fn replace_hands_the_id_to_a_new_child_after_the_old_one_drains() {
    let _watchdog = watchdog("replace".to_owned(), Duration::from_secs(120));
    let mut host = host();
    host.attach(steady()).unwrap();
    let id = host.attach_with(crash(), &0_u8).unwrap();
    let first = host.pid(id).unwrap();
    for _ in 0..3 {
        host.send(Job::Add(1)).unwrap();
    }
    let old = host.replace_with(id, crash(), &10_u8).unwrap();
    assert_eq!(old.id(), id);
    let second = host.pid(id).unwrap();
    assert_ne!(first, second);
    host.send(Job::Add(1)).unwrap();
    let old = old.wait();
    assert_eq!(
        (old.ending, old.handled, old.unhandled),
        (Ending::Finished, 3, 0)
    );
    assert!(gone(first), "the replaced child {first} still runs");

    // A child that died is replaced too; its exit says how it died.
    host.send(Job::Exit(4)).unwrap();
    let dead = host.replace_with(id, crash(), &20_u8).unwrap().wait();
    assert_eq!(
        (dead.ending, dead.handled),
        (Ending::Exited(4), 1),
        "after one add"
    );
    host.send(Job::Stop(1)).unwrap();
    let exits = host.end();
    assert_eq!(exits.len(), 2);
    assert_eq!(exits[0].handled, 6, "{}", exits[0]);
    assert_eq!(exits[1].ending, Ending::Detached(21), "{}", exits[1]);
    assert_eq!(exits[1].handled, 1, "{}", exits[1]);
}

#[test]
fn a_host_that_replaces_often_lets_go_of_the_children_that_ended() {
    let _watchdog = watchdog("many replaces".to_owned(), Duration::from_secs(120));
    let mut host = host();
    host.attach(steady()).unwrap();
    let id = host.attach_with(crash(), &0_u8).unwrap();
    let replaces: u64 = 12;
    for round in 0..replaces {
        host.send(Job::Add(1)).unwrap();
        let old = host.replace_with(id, crash(), &0_u8).unwrap();
        // Each old child has handled its add and ended before the next
        // replace, which lets go of it.
        let exit = old.wait();
        assert_eq!(
            (exit.ending, exit.handled, exit.unhandled),
            (Ending::Finished, 1, 0),
            "round {round}"
        );
        assert!(
            host.__retired_children() <= 1,
            "round {round}: {} replaced children held",
            host.__retired_children()
        );
    }
    host.send(Job::Add(1)).unwrap();
    let exits = host.end();
    assert_eq!(exits.len(), 2);
    assert_eq!(exits[0].ending, Ending::Finished, "{}", exits[0]);
    assert_eq!(exits[0].handled, replaces + 1, "{}", exits[0]);
    assert_eq!(exits[1].ending, Ending::Finished, "{}", exits[1]);
    assert_eq!(exits[1].handled, 1, "{}", exits[1]);
}

#[test]
fn a_program_a_plugin_starts_inherits_the_variable_but_is_no_child() {
    let _watchdog = watchdog(
        "a host started by a plugin".to_owned(),
        Duration::from_secs(120),
    );
    // As a plugin's child would start it: the variable set, and no socket
    // on standard input.
    let mut host = Command::new(CHILD)
        .arg("host")
        .arg(steady())
        .env("MPPLUGIN_PROCESS_CHILD", std::process::id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(host.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|line| line != "ready")
        .collect();
    drop(host.stdin.take());
    let status = host.wait().unwrap();
    assert_eq!(
        lines.len(),
        1,
        "it attached its plugin as a host: {lines:?}, {status}"
    );
    assert_eq!(status.code(), Some(3), "it ran as a host to the end");
}

#[test]
fn a_host_killed_with_sigkill_leaves_no_child_behind() {
    let _watchdog = watchdog("a killed host".to_owned(), Duration::from_secs(120));
    let mut host = Command::new(CHILD)
        .arg("host")
        .arg(steady())
        .arg(crash())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(host.stdout.take().unwrap()).lines();
    let mut children = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        children.push(line.parse::<u32>().unwrap());
    }
    assert_eq!(children.len(), 2);
    // The crash plugin's child is in its handler, where only the kernel's
    // parent-death signal can end it; the steady one waits on its socket.
    let spinning = BufReader::new(host.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "fixture-process-crash: spinning");
    assert!(spinning, "the crash plugin never started spinning");
    for &pid in &children {
        assert!(!gone(pid), "child {pid} is running before the kill");
    }
    host.kill().unwrap();
    host.wait().unwrap();
    for pid in children {
        wait_until(
            &format!("child {pid} to end with its host"),
            Duration::from_secs(60),
            || gone(pid),
        );
    }
}

/// Linux's signal numbers.
mod libc_signal {
    pub(super) const ABRT: i32 = 6;
    pub(super) const SEGV: i32 = 11;
}
