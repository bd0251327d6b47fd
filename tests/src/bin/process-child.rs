//! The process host's child in the tests: its `main` begins with the line
//! every process host's program begins with. Started without the child
//! mode, it is a host: `process-child host LIBRARY...` attaches each
//! library (the crash fixture with offset 0), sends `Job::Spin` (the crash
//! plugin spins in its handler for ever, the others are idle), prints each
//! child's process id on a line, then `ready`, and waits until it is
//! killed.

use std::io::{Read, Write};

use fixture_process_types::Job;

fn main() {
    no_core_dumps();
    mpplugin::process::ChildMain::<Job>::new()
        .argument::<u8>()
        .run();

    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(("host", libraries)) = args.split_first().map(|(mode, rest)| (mode.as_str(), rest))
    else {
        eprintln!("usage: process-child host LIBRARY...");
        std::process::exit(2);
    };
    let mut host = mpplugin::process::Host::<Job>::new();
    let mut out = std::io::stdout().lock();
    for library in libraries {
        let attached = if library.contains("crash") {
            host.attach_with(library, &0_u8)
        } else {
            host.attach(library)
        };
        let id = attached.unwrap_or_else(|error| panic!("{error}"));
        writeln!(
            out,
            "{}",
            host.pid(id).expect("an attached plugin has a child")
        )
        .unwrap();
    }
    host.send(Job::Spin).expect("the plugins run");
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    // Killed before this: the spinning plugin never ends.
    std::process::exit(3);
}

/// The fixtures crash on purpose, some with a gigabyte mapped: a core file
/// per crash would fill the disk of a machine that keeps them.
fn no_core_dumps() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `setrlimit` reads the `rlimit` passed, which lives across the
    // call.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
}
