//! Deadlines for tests that could hang: a watchdog that aborts the whole test
//! process when a run does not finish in time, and a wait for a condition
//! that fails instead of spinning forever. Nothing here decides what a test
//! checks; it only turns a hang into a failure that says what hung.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Aborts the process, with a message, if the returned sender is not dropped
/// or sent to within `limit`: a deadlocked host fails the test run instead of
/// hanging CI. Abort, not panic: a deadlocked test thread cannot be unwound.
pub fn watchdog(what: String, limit: Duration) -> mpsc::Sender<()> {
    let (done, finished) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
            eprintln!("\nwatchdog: {what} did not finish within {limit:?}: deadlock? aborting");
            std::process::abort();
        }
    });
    done
}

/// Yields until `condition` holds; panics, saying `what` it waited for, if it
/// does not within `limit`.
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}: it never happened"
        );
        thread::yield_now();
    }
}
