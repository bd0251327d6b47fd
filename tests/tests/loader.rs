//! Loading real cdylibs: every refusal the loader can make, provoked by a
//! fixture, and loaded plugins at work in both hosts.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use fixture_types::Event;
use mpplugin::abi;
use mpplugin::load::{PanicStrategy, TypeInfo};
use mpplugin::{Ending, LoadError, LoadedPlugin, Message, Plugin, PluginLibrary, load, load_with};
use mpplugin_tests::fixtures::{args, fixture, report};
use mpplugin_tests::scratch::Scratch;

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test.
    unsafe { PluginLibrary::open(path) }
}

/// `name` in a directory of its own, removed with it when the guard
/// returned is dropped: keep the guard until the test ends.
fn scratch(name: &str) -> (Scratch, PathBuf) {
    let dir = Scratch::new(&format!("loader-{name}"));
    let path = dir.join(name);
    (dir, path)
}

// ---- refusals, in the order the loader checks ----

#[test]
fn a_missing_path_cannot_be_opened() {
    let (_dir, path) = scratch("no-such-plugin.so");
    let error = open(&path).unwrap_err();
    let LoadError::Open {
        path: reported,
        message,
    } = &error
    else {
        panic!("expected Open, got {error:?}");
    };
    assert_eq!(reported, &path);
    assert!(message.contains("No such file"), "{message}");
    assert!(
        error.to_string().contains(&*path.to_string_lossy()),
        "{error}"
    );
}

fn assert_not_a_library(path: &Path, reason_contains: &str) {
    match open(path) {
        Err(LoadError::NotALibrary {
            path: reported,
            reason,
        }) => {
            assert_eq!(reported, path);
            assert!(!reason_contains.is_empty(), "every string contains \"\"");
            assert!(reason.contains(reason_contains), "reason: {reason}");
        }
        other => panic!("expected NotALibrary, got {other:?}"),
    }
}

#[test]
fn a_directory_is_not_a_library() {
    assert_not_a_library(&std::env::temp_dir(), "not a regular file");
}

#[test]
fn a_text_file_is_not_a_library() {
    let (_dir, path) = scratch("notes.so");
    std::fs::write(&path, "these are not the bytes you are looking for\n").unwrap();
    assert_not_a_library(&path, "Unknown file magic");
}

#[test]
fn an_empty_file_is_not_a_library() {
    let (_dir, path) = scratch("empty.so");
    std::fs::write(&path, "").unwrap();
    assert_not_a_library(&path, "Could not read file magic");
}

#[test]
fn a_truncated_plugin_is_refused_before_the_dynamic_loader_sees_it() {
    // The first 4 KiB of a real plugin crash glibc's dlopen with SIGBUS;
    // reaching the assertions at all shows the file never got there.
    let whole = std::fs::read(fixture("good")).unwrap();
    for length in [64, 4096, whole.len() / 2, whole.len() - 1] {
        let (_dir, path) = scratch(&format!("truncated-{length}.so"));
        std::fs::write(&path, &whole[..length]).unwrap();
        match open(&path) {
            Err(LoadError::NotALibrary { .. }) => {}
            other => panic!("{length} bytes: expected NotALibrary, got {other:?}"),
        }
    }
}

#[test]
fn a_cdylib_without_a_declaration_is_not_a_plugin() {
    let path = fixture("not-a-plugin");
    assert_eq!(
        open(path).unwrap_err(),
        LoadError::NotAPlugin {
            path: path.to_owned()
        }
    );
}

fn assert_bad_declaration(name: &str, reason_contains: &str) {
    let path = fixture(name);
    match open(path) {
        Err(error @ LoadError::BadDeclaration { .. }) => {
            let text = error.to_string();
            let LoadError::BadDeclaration {
                path: reported,
                reason,
            } = error
            else {
                unreachable!()
            };
            assert_eq!(reported, path);
            assert!(reason.contains(reason_contains), "reason: {reason}");
            // The path, what is wrong, and the fix.
            assert_eq!(
                text,
                format!(
                    "`{}` exports a corrupt mpplugin declaration: {reason}; rebuild the plugin",
                    path.display()
                )
            );
        }
        other => panic!("expected BadDeclaration, got {other:?}"),
    }
}

#[test]
fn a_symbol_smaller_than_the_prefix_is_a_bad_declaration() {
    assert_bad_declaration(
        "tiny-symbol",
        "its symbol has 4 bytes, fewer than the 16-byte prefix",
    );
}

#[test]
fn a_wrong_magic_value_is_a_bad_declaration() {
    // The plugin's value and the host's.
    let plugin = u64::from_le_bytes(*b"notmpplg");
    assert_bad_declaration(
        "bad-magic",
        &format!("its magic value is {plugin:#018x}, not mpplugin's 0x6e6967756c70706d"),
    );
}

#[test]
fn a_declaration_of_the_wrong_size_is_a_bad_declaration() {
    assert_bad_declaration("wrong-size", "it says it has 8 bytes");
}

#[test]
fn another_abi_version_is_refused() {
    let path = fixture("abi-version");
    let error = open(path).unwrap_err();
    assert_eq!(
        error,
        LoadError::AbiVersion {
            path: path.to_owned(),
            host: abi::ABI_VERSION,
            plugin: 999
        }
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "built for mpplugin ABI version 999, this host uses ABI version {}",
            abi::ABI_VERSION
        )) && text.contains("rebuild the plugin against the host's version of mpplugin"),
        "{text}"
    );
}

#[test]
fn another_rustc_is_refused() {
    let path = fixture("other-rustc");
    let library = open(path).expect("a plugin of another rustc can still be inspected");
    assert_eq!(library.info().rustc, "rustc 1.0.0 (a59807616 2015-05-13)");
    let error = library.instantiate::<Event>().unwrap_err();
    assert_eq!(
        error,
        LoadError::Rustc {
            path: path.to_owned(),
            host: abi::RUSTC.to_owned(),
            plugin: "rustc 1.0.0 (a59807616 2015-05-13)".to_owned(),
        }
    );
    let text = error.to_string();
    assert!(
        text.contains(abi::RUSTC) && text.contains("rebuild the plugin"),
        "{text}"
    );
}

#[test]
fn another_target_is_refused() {
    let path = fixture("other-target");
    let error = open(path).unwrap().instantiate::<Event>().unwrap_err();
    assert_eq!(
        error,
        LoadError::Target {
            path: path.to_owned(),
            host: abi::TARGET.to_owned(),
            plugin: "riscv64gc-unknown-linux-gnu".to_owned(),
        }
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "built for target `riscv64gc-unknown-linux-gnu`, this host for `{0}`: rebuild the plugin for `{0}`",
            abi::TARGET
        )),
        "{text}"
    );
}

#[test]
fn another_message_type_is_refused_with_name_size_and_alignment() {
    let path = fixture("other-message");
    let error = open(path).unwrap().instantiate::<Event>().unwrap_err();
    assert_eq!(
        error,
        LoadError::MessageType {
            path: path.to_owned(),
            host: TypeInfo::of::<Event>(),
            plugin: TypeInfo {
                name: "u32".to_owned(),
                size: 4,
                align: 4
            },
        }
    );
    let text = error.to_string();
    assert!(text.contains("`u32` (size 4, align 4)"), "{text}");
    assert!(text.contains("`fixture_types::Event` (size"), "{text}");
}

/// The refusal of `fixture-<name>`, a hand-made declaration of message type
/// `fixture_types::Event` by name, for messages of that type.
fn message_refusal(name: &str, size: usize, align: usize) -> (LoadError, LoadError) {
    let path = fixture(name);
    let expected = LoadError::MessageType {
        path: path.to_owned(),
        host: TypeInfo::of::<Event>(),
        plugin: TypeInfo {
            name: "fixture_types::Event".to_owned(),
            size,
            align,
        },
    };
    (
        open(path).unwrap().instantiate::<Event>().unwrap_err(),
        expected,
    )
}

#[test]
fn a_message_type_of_the_same_name_and_another_size_is_refused() {
    let size = size_of::<Event>() + 8;
    let (error, expected) = message_refusal("message-size", size, align_of::<Event>());
    assert_eq!(error, expected);
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "handles messages of type `fixture_types::Event` (size {size}, align {})",
            align_of::<Event>()
        )),
        "{text}"
    );
}

#[test]
fn a_message_type_of_the_same_name_and_size_and_another_alignment_is_refused() {
    let align = align_of::<Event>() * 2;
    let (error, expected) = message_refusal("message-align", size_of::<Event>(), align);
    assert_eq!(error, expected);
}

/// The refusal of `fixture-<name>`, a hand-made declaration that takes a
/// `Vec<String>` by name, given a `Vec<String>`.
fn argument_refusal(name: &str, size: usize, align: usize) -> (LoadError, LoadError) {
    let path = fixture(name);
    let expected = LoadError::ArgumentType {
        path: path.to_owned(),
        host: Some(TypeInfo::of::<Vec<String>>()),
        plugin: Some(TypeInfo {
            name: std::any::type_name::<Vec<String>>().to_owned(),
            size,
            align,
        }),
    };
    let library = open(path).unwrap();
    let error = library
        .instantiate_with::<Event, _>(&args(&["x"]))
        .unwrap_err();
    (error, expected)
}

#[test]
fn an_argument_type_of_the_same_name_and_another_size_is_refused() {
    let size = size_of::<Vec<String>>() + 8;
    let (error, expected) = argument_refusal("argument-size", size, align_of::<Vec<String>>());
    assert_eq!(error, expected);
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "takes `{}` (size {size}, align {})",
            std::any::type_name::<Vec<String>>(),
            align_of::<Vec<String>>()
        )),
        "{text}"
    );
}

#[test]
fn an_argument_type_of_the_same_name_and_size_and_another_alignment_is_refused() {
    let align = align_of::<Vec<String>>() * 2;
    let (error, expected) = argument_refusal("argument-align", size_of::<Vec<String>>(), align);
    assert_eq!(error, expected);
}

#[test]
fn an_argument_given_to_a_plugin_that_takes_none_is_refused() {
    let path = fixture("good");
    let error = open(path)
        .unwrap()
        .instantiate_with::<Event, _>(&args(&["x"]))
        .unwrap_err();
    assert_eq!(
        error,
        LoadError::ArgumentType {
            path: path.to_owned(),
            host: Some(TypeInfo::of::<Vec<String>>()),
            plugin: None,
        }
    );
    assert!(error.to_string().contains("without an argument"), "{error}");
}

#[test]
fn no_argument_given_to_a_plugin_that_needs_one_is_refused() {
    let path = fixture("good-args");
    let error = open(path).unwrap().instantiate::<Event>().unwrap_err();
    assert_eq!(
        error,
        LoadError::ArgumentType {
            path: path.to_owned(),
            host: None,
            plugin: Some(TypeInfo::of::<Vec<String>>()),
        }
    );
    assert!(error.to_string().contains("load_with"), "{error}");
}

#[test]
fn an_argument_of_another_type_is_refused() {
    let path = fixture("good-args");
    let error = open(path)
        .unwrap()
        .instantiate_with::<Event, _>(&"label")
        .unwrap_err();
    assert_eq!(
        error,
        LoadError::ArgumentType {
            path: path.to_owned(),
            host: Some(TypeInfo::of::<&str>()),
            plugin: Some(TypeInfo::of::<Vec<String>>()),
        }
    );
}

#[test]
fn a_plugin_built_with_panic_abort_is_refused() {
    let path = fixture("panic-abort");
    let library = open(path).unwrap();
    assert_eq!(library.info().panic_strategy, PanicStrategy::Abort);
    let error = library.instantiate::<Event>().unwrap_err();
    assert_eq!(
        error,
        LoadError::PanicStrategy {
            path: path.to_owned(),
            plugin: PanicStrategy::Abort
        }
    );
    // The plugin's strategy, what it would do to the host, and the one the
    // host needs.
    let text = error.to_string();
    assert!(
        text.contains("was built with `panic = \"abort\"`: a panic in it would abort the host")
            && text.contains("build it with `panic = \"unwind\"`"),
        "{text}"
    );
}

// ---- the order of the checks ----

/// The refusal of `instantiate_with` of `fixture-<name>` with a
/// `Vec<String>`, or of `instantiate` without an argument.
fn refusal_of<T: Send + Sync + mpplugin::Shape>(name: &str, with_argument: bool) -> LoadError {
    let library = open(fixture(name)).unwrap();
    let result = if with_argument {
        library.instantiate_with::<T, _>(&args(&["x"]))
    } else {
        library.instantiate::<T>()
    };
    result.map(|_| ()).unwrap_err()
}

#[test]
fn a_plugin_wrong_on_several_counts_gets_the_earliest_refusal() {
    // Each of these is wrong on the count named and on every later one
    // (README, "What the loader checks": in order, each a distinct error).
    let path = fixture("wrong-from-abi-version");
    assert!(
        matches!(open(path), Err(LoadError::AbiVersion { plugin: 999, .. })),
        "{:?}",
        open(path).map(|_| ())
    );
    let error = refusal_of::<Event>("wrong-from-rustc", false);
    assert!(matches!(error, LoadError::Rustc { .. }), "{error:?}");
    let error = open(fixture("wrong-from-rustc")).unwrap().check_build();
    assert!(matches!(error, Err(LoadError::Rustc { .. })), "{error:?}");
    let error = refusal_of::<Event>("wrong-from-mpplugin", false);
    assert!(
        matches!(error, LoadError::MppluginVersion { .. }),
        "{error:?}"
    );
    // The host makes the later counts wrong too: a target and a message
    // type, a message and an argument type, an argument type and the panic
    // strategy.
    let error = refusal_of::<u32>("other-target", false);
    assert!(matches!(error, LoadError::Target { .. }), "{error:?}");
    let error = refusal_of::<Event>("other-message", true);
    assert!(matches!(error, LoadError::MessageType { .. }), "{error:?}");
    let error = refusal_of::<Event>("panic-abort", true);
    assert!(matches!(error, LoadError::ArgumentType { .. }), "{error:?}");
}

#[test]
fn a_file_others_can_write_is_refused_before_it_is_read() {
    use std::os::unix::fs::PermissionsExt;
    // Neither a library nor safe: the permission check comes first.
    let (_dir, path) = scratch("writable-notes.so");
    std::fs::write(&path, "these are not the bytes you are looking for\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let error = open(&path).map(|_| ()).unwrap_err();
    assert!(
        matches!(error, LoadError::WritableByOthers { .. }),
        "{error:?}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_not_a_library(&path, "Unknown file magic");
}

#[test]
fn a_constructor_error_is_reported_with_its_message() {
    let path = fixture("constructor-fails");
    // SAFETY: see `open`.
    let error = unsafe { load::<Event>(path) }.unwrap_err();
    assert_eq!(
        error,
        LoadError::ConstructorFailed {
            path: path.to_owned(),
            message: "no configuration found at /etc/refuses.toml".to_owned(),
        }
    );
}

#[test]
fn a_constructor_error_from_new_with_arguments_is_reported() {
    let path = fixture("good-args");
    // SAFETY: see `open`.
    let error = unsafe { load_with::<Event, _>(path, &Vec::<String>::new()) }.unwrap_err();
    assert_eq!(
        error,
        LoadError::ConstructorFailed {
            path: path.to_owned(),
            message: "give at least one argument: the label".to_owned(),
        }
    );
}

#[test]
fn a_constructor_panic_is_reported_with_its_message() {
    let path = fixture("constructor-panics");
    // SAFETY: see `open`.
    let error = unsafe { load::<Event>(path) }.unwrap_err();
    assert_eq!(
        error,
        LoadError::ConstructorPanicked {
            path: path.to_owned(),
            message: "constructor exploded".to_owned(),
        }
    );
}

// ---- good plugins ----

#[test]
fn info_describes_a_plugin_without_constructing_it() {
    let path = fixture("good-args");
    let library = open(path).unwrap();
    let info = library.info();
    assert_eq!(info.name, "fixture-good-args");
    assert_eq!(info.version, "0.3.1");
    assert_eq!(info.plugin_type, "Named");
    assert_eq!(info.message, TypeInfo::of::<Event>());
    assert_eq!(info.argument, Some(TypeInfo::of::<Vec<String>>()));
    assert_eq!(info.rustc, abi::RUSTC);
    assert_eq!(info.target, abi::TARGET);
    assert_eq!(info.abi_version, abi::ABI_VERSION);
    assert_eq!(info.panic_strategy, PanicStrategy::Unwind);
    assert!(
        info.symbol.starts_with(abi::SYMBOL_PREFIX),
        "{}",
        info.symbol
    );
    let shown = info.to_string();
    assert!(
        shown.contains("fixture-good-args 0.3.1") && shown.contains("fixture_types::Event"),
        "{shown}"
    );
    library.check_with::<Event, Vec<String>>().unwrap();
    assert!(
        matches!(
            library.check::<Event>(),
            Err(LoadError::ArgumentType {
                host: None,
                plugin: Some(_),
                ..
            })
        ),
        "{:?}",
        library.check::<Event>()
    );
}

#[test]
fn opening_inspecting_and_checking_construct_nothing() {
    // Its constructor panics: had anything below called it, it would fail.
    let path = fixture("constructor-panics");
    let library = open(path).unwrap();
    assert_eq!(library.info().name, "fixture-constructor-panics");
    assert!(
        library
            .info()
            .to_string()
            .contains("fixture-constructor-panics")
    );
    library.check::<Event>().unwrap();
    library.check_build().unwrap();
    // Construction is where it fails, and only there.
    assert!(
        matches!(
            library.instantiate::<Event>(),
            Err(LoadError::ConstructorPanicked { .. })
        ),
        "the constructor does panic when called"
    );
}

#[test]
fn a_library_makes_many_independent_instances() {
    let library = open(fixture("good")).unwrap();
    let mut first = library.instantiate::<Event>().unwrap();
    let mut second = library.instantiate::<Event>().unwrap();
    first.handle_message(Message::new(Event::Add(5)));
    second.handle_message(Message::new(Event::Add(7)));
    assert_eq!(report(&mut first), "good: 5");
    assert_eq!(report(&mut second), "good: 7");
    assert_eq!(first.name(), "fixture-good");
}

#[test]
fn a_panic_in_a_loaded_plugin_called_directly_becomes_a_host_panic() {
    // SAFETY: see `open`.
    let mut plugin: LoadedPlugin<Event> = unsafe { load(fixture("good")) }.unwrap();
    plugin.handle_message(Message::new(Event::Add(3)));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        plugin.handle_message(Message::new(Event::Panic));
    }))
    .expect_err("the plugin's panic is raised again in the host");
    let text = caught.downcast_ref::<String>().unwrap();
    assert_eq!(
        text,
        "plugin `fixture-good` panicked: good plugin panicked on request (sum 3)"
    );
}

#[test]
fn loading_using_and_dropping_plugins_hundreds_of_times_keeps_one_library_mapped() {
    let path = fixture("good-args");
    let mappings = || {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        maps.lines().filter(|line| line.ends_with(&*name)).count()
    };
    // SAFETY: see `open`.
    let mut warm = unsafe { load_with::<Event, _>(path, &args(&["warm"])) }.unwrap();
    assert_eq!(report(&mut warm), "warm: 0");
    drop(warm);
    let before = mappings();
    for round in 0..300_u64 {
        // SAFETY: see `open`.
        let mut plugin = unsafe { load_with::<Event, _>(path, &args(&["round"])) }.unwrap();
        plugin.handle_message(Message::new(Event::Add(round)));
        assert_eq!(report(&mut plugin), format!("round: {round}"));
    }
    if cfg!(target_os = "linux") {
        assert!(before > 0, "the library is mapped");
        assert_eq!(mappings(), before, "reloading maps the library again");
    }
}

/// Three loaded plugins: `good`, `good-args` labelled "named", and
/// `good-args` labelled "dropper" that panics when dropped.
fn three_loaded_plugins() -> Vec<LoadedPlugin<Event>> {
    // SAFETY: see `open`.
    unsafe {
        vec![
            load::<Event>(fixture("good")).unwrap(),
            load_with::<Event, _>(fixture("good-args"), &args(&["named"])).unwrap(),
            load_with::<Event, _>(fixture("good-args"), &args(&["dropper", "panic-on-drop"]))
                .unwrap(),
        ]
    }
}

fn sorted(mut replies: Vec<String>) -> Vec<String> {
    replies.sort();
    replies
}

/// After `Add(10)`, `Report` and `last`, what each of the three reported and
/// how each ended.
fn assert_three_ended(replies: Vec<String>, exits: &[mpplugin::Exit], endings: [Ending; 3]) {
    assert_eq!(
        sorted(replies),
        ["dropper panic-on-drop: 10", "good: 10", "named: 10"]
    );
    let names: Vec<_> = exits.iter().map(|exit| exit.name.as_str()).collect();
    assert_eq!(
        names,
        ["fixture-good", "fixture-good-args", "fixture-good-args"]
    );
    for (exit, ending) in exits.iter().zip(endings) {
        assert_eq!(exit.ending, ending);
        assert_eq!(exit.handled, 3);
    }
    assert_eq!(exits[0].drop_panic, None);
    assert_eq!(exits[1].drop_panic, None);
    assert_eq!(
        exits[2].drop_panic.as_deref(),
        Some("dropper panic-on-drop panicked while dropped")
    );
}

fn panicked_endings() -> [Ending; 3] {
    [
        Ending::Panicked("good plugin panicked on request (sum 10)".to_owned()),
        Ending::Panicked("named panicked on request".to_owned()),
        Ending::Panicked("dropper panic-on-drop panicked on request".to_owned()),
    ]
}

fn run_in_std_host(last: Event) -> (Vec<String>, Vec<mpplugin::Exit>) {
    let mut host = mpplugin::Host::<Event>::new();
    for plugin in three_loaded_plugins() {
        host.attach(plugin);
    }
    host.send(Event::Add(10)).unwrap();
    let (reply, answers) = mpsc::sync_channel(3);
    host.send(Event::Report(reply)).unwrap();
    let replies = (0..3)
        .map(|_| answers.recv_timeout(Duration::from_secs(30)).unwrap())
        .collect();
    host.send(last).unwrap();
    (replies, host.end())
}

#[test]
fn loaded_plugins_run_in_the_std_host_and_their_panics_are_reported() {
    let (replies, exits) = run_in_std_host(Event::Panic);
    assert_three_ended(replies, &exits, panicked_endings());
}

#[test]
fn loaded_plugins_detach_with_their_status() {
    let (replies, exits) = run_in_std_host(Event::Stop(9));
    assert_three_ended(
        replies,
        &exits,
        [
            Ending::Detached(9),
            Ending::Detached(9),
            Ending::Detached(9),
        ],
    );
}

fn run_in_tokio_host(execution: mpplugin::tokio::Execution) -> (Vec<String>, Vec<mpplugin::Exit>) {
    let runtime = mpplugin_tests::driver::two_worker_runtime();
    runtime.block_on(async {
        let mut host = mpplugin::tokio::Host::<Event>::new();
        for plugin in three_loaded_plugins() {
            host.attach_with(plugin, 16, execution);
        }
        host.send(Event::Add(10)).await.unwrap();
        // Room for every reply: no plugin blocks on it, and the runtime's
        // threads never wait on a std channel.
        let (reply, answers) = mpsc::sync_channel(3);
        host.send(Event::Report(reply)).await.unwrap();
        host.send(Event::Panic).await.unwrap();
        let exits = host.end().await;
        let replies = answers.try_iter().collect();
        (replies, exits)
    })
}

#[test]
fn loaded_plugins_run_as_tokio_tasks_and_their_panics_are_reported() {
    let (replies, exits) = run_in_tokio_host(mpplugin::tokio::Execution::Task);
    assert_three_ended(replies, &exits, panicked_endings());
}

#[test]
fn loaded_plugins_run_on_the_tokio_blocking_pool_and_their_panics_are_reported() {
    let (replies, exits) = run_in_tokio_host(mpplugin::tokio::Execution::Blocking);
    assert_three_ended(replies, &exits, panicked_endings());
}

#[test]
fn a_plugin_file_replaced_after_it_was_loaded_loads_the_new_build_not_the_old() {
    let (_dir, path) = scratch("replaced.so");
    std::fs::copy(fixture("good"), &path).unwrap();
    assert_eq!(open(&path).unwrap().info().name, "fixture-good");
    // A new build lands at the same path (a new file, renamed over it).
    let (_staged_dir, staged) = scratch("replaced.so.new");
    std::fs::copy(fixture("good-args"), &staged).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    let library = open(&path).unwrap();
    assert_eq!(library.info().name, "fixture-good-args");
    assert_eq!(library.info().path, path);
}

#[test]
fn another_mpplugin_version_is_refused() {
    let path = fixture("other-mpplugin");
    let error = open(path).unwrap().instantiate::<Event>().unwrap_err();
    assert_eq!(
        error,
        LoadError::MppluginVersion {
            path: path.to_owned(),
            host: abi::MPPLUGIN_VERSION.to_owned(),
            plugin: "0.0.1-other".to_owned(),
        }
    );
    assert!(
        error
            .to_string()
            .contains("built with mpplugin 0.0.1-other"),
        "{error}"
    );
}
