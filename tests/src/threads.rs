//! A thread of this test process seen from outside (Linux's
//! `/proc/self/task`): whether it sleeps in the kernel. A test that must
//! see a call block waits for the calling thread to sleep, a positive
//! event, instead of waiting a while for the call not to return.

use std::path::PathBuf;

/// A thread of this process, as the kernel names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tid(u32);

/// The calling thread.
///
/// # Panics
/// Where `/proc/thread-self` cannot be read (not Linux, or no procfs).
pub fn this_thread() -> Tid {
    let link = std::fs::read_link("/proc/thread-self")
        .expect("tests that watch a thread need Linux's /proc/thread-self");
    // `<pid>/task/<tid>`
    let tid = link
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.parse().ok())
        .unwrap_or_else(|| panic!("/proc/thread-self reads {link:?}: no thread id"));
    Tid(tid)
}

/// Whether thread `tid` sleeps now (state `S`: waiting on a futex, a
/// park, a channel). False once it has ended.
pub fn sleeping(tid: Tid) -> bool {
    let stat = PathBuf::from(format!("/proc/self/task/{}/stat", tid.0));
    let Ok(stat) = std::fs::read_to_string(stat) else {
        return false;
    };
    // `tid (comm) state ...`: the name may hold spaces and parentheses;
    // the state follows the last `)`.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        == Some("S")
}
