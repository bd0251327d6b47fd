//! Replies (`mpplugin::reply`): one fixture plugin answers through the same
//! `Reply` on the std host, the tokio host and the process host; the demo's
//! plugins answer from child processes; `Replies` closes once every plugin
//! let go of its `Reply`, a crashed child included; an answer the host
//! cannot read (or whose decoding panics) ends that child; and a `Reply`
//! crosses nowhere but inside the process host's messages.

use std::path::Path;
use std::sync::mpsc::{RecvError, TryRecvError};
use std::time::Duration;

use concat_types::{ConcatCommand, Report};
use fixture_process_types::Job;
use mpplugin::process::{AttachError, Options, TrySendError};
use mpplugin::reply::{self, Replies};
use mpplugin::{Ending, PluginLibrary};
use mpplugin_tests::fixtures::{demo_plugins, fixture};
use mpplugin_tests::watchdog::watchdog;

const CHILD: &str = env!("CARGO_BIN_EXE_process-child");
const DEMO_CHILD: &str = env!("CARGO_BIN_EXE_process-demo-child");

fn process_host() -> mpplugin::process::Host<Job> {
    mpplugin::process::Host::with_program(CHILD)
}

fn steady() -> &'static Path {
    fixture("process-steady")
}

fn crash() -> &'static Path {
    fixture("process-crash")
}

/// Fixture `library` made into an in-process plugin for `Job`.
fn in_process(library: &Path) -> mpplugin::LoadedPlugin<Job> {
    // SAFETY: the fixtures are built from this repository by the harness,
    // with the same toolchain and the system allocator.
    let library = unsafe { PluginLibrary::open(library) }.unwrap();
    if library.info().argument.is_some() {
        library.instantiate_with::<Job, u8>(&0).unwrap()
    } else {
        library.instantiate::<Job>().unwrap()
    }
}

/// Every answer left, until the channel closes.
fn drain<R>(replies: &Replies<R>) -> Vec<R> {
    std::iter::from_fn(|| replies.recv().ok()).collect()
}

#[test]
fn one_plugin_answers_through_the_same_reply_on_every_host() {
    let _watchdog = watchdog("answers on three hosts".into(), Duration::from_secs(120));

    let mut host = mpplugin::Host::<Job>::new();
    host.attach(in_process(steady()));
    for n in 1..=3 {
        host.send(Job::Add(n)).unwrap();
    }
    let (reply, replies) = reply::channel();
    host.send(Job::Ask(reply)).unwrap();
    assert_eq!(replies.recv(), Ok(4), "std host");
    host.end();
    assert_eq!(replies.recv(), Err(RecvError), "std host: closed");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<Job>::new();
        host.attach(in_process(steady()));
        for n in 1..=3 {
            host.send(Job::Add(n)).await.unwrap();
        }
        let (reply, mut replies) = reply::channel();
        host.send(Job::Ask(reply)).await.unwrap();
        assert_eq!(replies.recv_async().await, Ok(4), "tokio host");
        host.end().await;
        assert_eq!(
            replies.recv_async().await,
            Err(RecvError),
            "tokio host: closed"
        );
    });

    let mut host = process_host();
    host.attach(steady()).unwrap();
    for n in 1..=3 {
        host.send(Job::Add(n)).unwrap();
    }
    let (reply, replies) = reply::channel();
    host.send(Job::Ask(reply)).unwrap();
    // Read before `end`: the answer comes while the child runs on.
    assert_eq!(replies.recv(), Ok(4), "process host");
    let exits = host.end();
    assert_eq!(exits[0].ending, Ending::Finished, "{}", exits[0]);
    assert_eq!(replies.recv(), Err(RecvError), "process host: closed");
}

#[test]
fn every_plugin_that_gets_a_reply_may_answer_and_each_answer_arrives() {
    let _watchdog = watchdog(
        "answers from four children".into(),
        Duration::from_secs(120),
    );
    let mut host = process_host();
    for _ in 0..3 {
        host.attach(steady()).unwrap();
    }
    host.attach_with(crash(), &0_u8).unwrap();
    host.send(Job::Add(5)).unwrap();
    let (reply, replies) = reply::channel();
    host.send(Job::Ask(reply.clone())).unwrap();
    host.send(Job::Ask(reply)).unwrap();
    // The host's own clone is gone: the channel closes when the children
    // let go of theirs, without an `end`.
    let mut answers = drain(&replies);
    answers.sort_unstable();
    assert_eq!(answers, [2, 2, 2, 3, 3, 3, 5, 5]);
    host.end();
}

#[test]
fn replies_close_once_every_plugin_let_go_even_a_crashed_child_holding_one() {
    let _watchdog = watchdog("a held reply".into(), Duration::from_secs(120));
    let mut host = process_host();
    host.attach(steady()).unwrap();
    host.attach_with(crash(), &0_u8).unwrap();
    let (held, replies) = reply::channel();
    host.send(Job::Hold(held)).unwrap();
    // Both have handled `Hold` once both answer this.
    let (reply, answers) = reply::channel();
    host.send(Job::Ask(reply)).unwrap();
    assert_eq!(drain(&answers).len(), 2);
    // The steady plugin dropped its copy; the crash plugin keeps one.
    assert_eq!(replies.try_recv(), Err(TryRecvError::Empty));
    host.send(Job::Abort).unwrap();
    // The child died holding it: closed, not a hang.
    assert_eq!(replies.recv(), Err(RecvError));
    let exits = host.end();
    assert_eq!(
        exits[1].ending,
        Ending::Killed(libc::SIGABRT),
        "{}",
        exits[1]
    );

    // In-process the same: the plugin's copy goes when the plugin does.
    let mut host = mpplugin::Host::<Job>::new();
    host.attach(in_process(crash()));
    let (held, replies) = reply::channel();
    host.send(Job::Hold(held)).unwrap();
    let (reply, answers) = reply::channel();
    host.send(Job::Ask(reply)).unwrap();
    assert_eq!(answers.recv(), Ok(0));
    assert_eq!(replies.try_recv(), Err(TryRecvError::Empty));
    host.end();
    assert_eq!(replies.recv(), Err(RecvError));
}

#[test]
fn an_answer_the_host_cannot_read_ends_that_child_not_the_host() {
    let _watchdog = watchdog("an unreadable answer".into(), Duration::from_secs(120));
    let mut host = process_host();
    host.attach(steady()).unwrap();
    host.attach_with(crash(), &0_u8).unwrap();
    let (reply, replies) = reply::channel();
    host.send(Job::AskChecked(reply)).unwrap();
    // Nothing readable came, and the channel closes: the steady plugin
    // dropped its copy, the crash plugin's child was ended.
    assert!(drain(&replies).is_empty());
    for _ in 0..3 {
        host.send(Job::Add(1)).unwrap();
    }
    let exits = host.end();
    let (steady, crashed) = (&exits[0], &exits[1]);
    assert_eq!(
        (&steady.ending, steady.handled),
        (&Ending::Finished, 4),
        "{steady}"
    );
    let Ending::Broken(reason) = &crashed.ending else {
        panic!("the child that answered garbage: {crashed}");
    };
    assert!(
        reason.contains("a reply does not decode as `fixture_process_types::Checked`"),
        "{reason}"
    );
}

#[test]
fn an_answer_whose_deserialize_panics_ends_that_child_and_the_host_goes_on() {
    let _watchdog = watchdog("a panicking answer".into(), Duration::from_secs(120));
    let mut host = process_host();
    host.attach(steady()).unwrap();
    host.attach_with(crash(), &0_u8).unwrap();
    host.send(Job::Add(13)).unwrap();
    let (reply, replies) = reply::channel();
    host.send(Job::AskUnlucky(reply)).unwrap();
    // Decoding the crash plugin's answer panics on the thread that reads
    // its child: the child is ended and lets go of the `Reply`, the steady
    // plugin dropped its copy, so the channel closes.
    assert!(drain(&replies).is_empty());
    // Replies sent later are not held by the ended child, and the steady
    // plugin answers them.
    let (reply, replies) = reply::channel();
    host.send(Job::Ask(reply)).unwrap();
    assert_eq!(drain(&replies), [3]);
    let exits = host.end();
    let (steady, crashed) = (&exits[0], &exits[1]);
    assert_eq!(
        (&steady.ending, steady.handled, steady.unhandled),
        (&Ending::Finished, 3, 0),
        "{steady}"
    );
    assert_eq!(
        crashed.ending,
        Ending::Broken(
            "the host panicked taking its answer as `fixture_process_types::Unlucky` (decoding it, or queueing it for the `Replies`): `Unlucky` panics reading 13"
                .to_owned()
        ),
        "{crashed}"
    );
    // `Add` was handled; the child was ended reading the answer to
    // `AskUnlucky`, and `Ask` found it gone.
    assert_eq!((crashed.handled, crashed.unhandled), (1, 2), "{crashed}");
}

#[test]
fn a_reply_in_a_message_try_send_refused_is_held_by_no_child() {
    let _watchdog = watchdog("a refused try_send".into(), Duration::from_secs(120));
    let mut host = process_host();
    host.attach(steady()).unwrap();
    let one = Options::new().capacity(1).window(1);
    let id = host.attach_with_options(crash(), &0_u8, &one).unwrap();
    host.send(Job::Spin).unwrap();
    // The spinning child acknowledges nothing: its window, the message its
    // proxy holds and its queue fill, while the steady plugin keeps room.
    let mut accepted = 0;
    while host.try_send(Job::Add(1)).is_ok() {
        accepted += 1;
        assert!(
            accepted <= 3,
            "a child that acknowledges nothing took {accepted} more"
        );
    }
    let (reply, replies) = reply::channel();
    let error = host.try_send(Job::Ask(reply)).unwrap_err();
    let TrySendError::Host(mpplugin::TrySendError::Full { message, full, .. }) = error else {
        panic!("{error}");
    };
    assert_eq!(full, [id]);
    // The message came back with the host's `Reply` in it: once that is
    // gone, nothing holds the channel, neither the child that had room nor
    // the one that had none.
    drop(message);
    assert_eq!(replies.try_recv(), Err(TryRecvError::Disconnected));
    let exits = host.end_timeout(Duration::ZERO);
    assert_eq!(exits[1].ending, Ending::Abandoned, "{}", exits[1]);
}

#[test]
fn a_reply_crosses_nowhere_but_inside_the_process_hosts_messages() {
    let (reply, replies) = reply::channel::<u64>();
    let error = postcard::to_allocvec(&Job::Ask(reply.clone())).unwrap_err();
    assert_eq!(error, postcard::Error::SerdeSerCustom);
    let error =
        postcard::from_bytes::<Job>(&postcard::to_allocvec(&(13_u32, 1_u64)).unwrap()).unwrap_err();
    assert_eq!(error, postcard::Error::SerdeDeCustom);

    // As a constructor's argument it does not serialise: refused before a
    // child starts.
    let mut host = process_host();
    let error = host.attach_with(steady(), &reply).unwrap_err();
    assert!(matches!(error, AttachError::Argument(_)), "{error}");
    assert!(host.is_empty());
    drop(reply);
    assert_eq!(replies.recv(), Err(RecvError));
}

#[test]
fn the_demos_plugins_answer_from_child_processes() {
    let _watchdog = watchdog("the demo's plugins".into(), Duration::from_secs(300));
    let (concat, debug) = demo_plugins();
    let mut host = mpplugin::process::Host::<ConcatCommand>::with_program(DEMO_CHILD);
    let words = vec!["Hi".to_owned(), "There".to_owned()];
    host.attach_named_with(concat, "Concat", &words).unwrap();
    host.attach_named(debug, "Debug").unwrap();
    host.attach_named(debug, "Kinds").unwrap();
    for text in ["Hello", ", ", "World"] {
        host.send(ConcatCommand::Concat(text.to_owned())).unwrap();
    }
    for _ in 0..2 {
        host.send(ConcatCommand::Time(std::time::SystemTime::now()))
            .unwrap();
    }
    let (reply, replies) = reply::channel();
    host.send(ConcatCommand::Report(reply)).unwrap();
    let mut reports: Vec<Report> = (0..3).map(|_| replies.recv().unwrap()).collect();
    reports.sort_by(|a, b| a.plugin.cmp(&b.plugin));
    let [concat, debug, kinds] = <[Report; 3]>::try_from(reports).unwrap();
    assert_eq!(concat.plugin, "concat");
    assert!(
        concat
            .text
            .starts_with("\"Hi There: Hello, World\" after 2 timestamps, mean delay "),
        "{}",
        concat.text
    );
    assert_eq!(
        (debug.plugin.as_str(), debug.text.as_str()),
        ("debug", "3 concat, 0 clear, 2 time, 1 report")
    );
    assert_eq!(
        (kinds.plugin.as_str(), kinds.text.as_str()),
        ("kinds", "3 kinds: 3 concat, 2 time, 1 report")
    );
    host.send(ConcatCommand::Exit).unwrap();
    for exit in host.end() {
        assert_eq!(exit.ending, Ending::Detached(0), "{exit}");
        assert_eq!(exit.handled, 7, "{exit}");
    }
    assert_eq!(replies.recv(), Err(RecvError));
}

#[test]
fn a_constructor_that_never_returns_is_an_attach_error_after_the_timeout() {
    let _watchdog = watchdog("a hanging constructor".into(), Duration::from_secs(120));
    let mut host = process_host();
    let options = Options::new().attach_timeout(Duration::from_millis(500));
    let error = host
        .attach_with_options(crash(), &u8::MAX, &options)
        .unwrap_err();
    let AttachError::TimedOut { library, timeout } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        (library.as_path(), *timeout),
        (crash(), Duration::from_millis(500))
    );
    let text = error.to_string();
    assert!(
        text.contains("was not constructed within 500ms") && text.contains("attach_timeout"),
        "{text}"
    );
    // Nothing was attached, and the host goes on.
    assert!(host.is_empty());
    host.attach(steady()).unwrap();
    assert_eq!(host.send(Job::Add(1)).unwrap().delivered, 1);
    assert_eq!(host.end()[0].ending, Ending::Finished);
}
