//! The child program of the demo's plugins on the process host, in the
//! tests: its `main` is the line the demo's `main` begins with, and nothing
//! else (the demo itself is another package's binary, which the tests
//! cannot name).

fn main() {
    mpplugin::process::ChildMain::<concat_types::ConcatCommand>::new()
        .argument::<Vec<String>>()
        .run();
    eprintln!("process-demo-child: started outside a process host; it is only a plugin's child");
    std::process::exit(2);
}
