//! A plugin crate is an ordinary library too: two plugin crates linked into
//! one binary (each exports its own declaration symbol, so the link does not
//! fail on a duplicate) and attached in-process as plain types.

use concat_plugin::Concat;
use concat_types::{ConcatCommand, Report};
use debug_plugin::Debug;
use mpplugin::{Ending, Host};

#[test]
fn two_plugin_crates_linked_into_one_binary_run_in_process() {
    let mut host = Host::<ConcatCommand>::new();
    host.attach(Concat::new(&vec!["linked".to_owned()]).unwrap());
    host.attach(Debug::default());
    for text in ["in", "-", "process"] {
        host.send(ConcatCommand::Concat(text.to_owned())).unwrap();
    }
    let (reply, reports) = mpplugin::reply::channel();
    host.send(ConcatCommand::Report(reply)).unwrap();
    host.send(ConcatCommand::Exit).unwrap();
    let exits = host.end();
    // Every plugin has dropped the message, and its `Reply`, by the end.
    let mut reports: Vec<Report> = std::iter::from_fn(|| reports.recv().ok()).collect();
    reports.sort_by(|a, b| a.plugin.cmp(&b.plugin));
    assert_eq!(reports[0].plugin, "concat");
    assert!(
        reports[0]
            .text
            .starts_with("\"linked: in-process\" after 0 timestamps"),
        "{}",
        reports[0].text
    );
    assert_eq!(reports[1].text, "3 concat, 0 clear, 0 time, 1 report");
    assert!(
        exits.iter().all(|exit| exit.ending == Ending::Detached(0)),
        "{exits:?}"
    );
    // In-process, a plugin's name is its type's.
    assert!(exits[0].name.ends_with("Concat"), "{}", exits[0].name);
}
