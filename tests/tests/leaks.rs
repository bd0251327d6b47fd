//! The driver of `tests/scripts/leaks.sh`: hundreds of load / instantiate /
//! use / drop cycles, refusals and host runs included, for valgrind to find
//! any memory that mpplugin leaks. Ignored in a plain `cargo test` (it proves
//! nothing without valgrind); the script runs it under valgrind, and
//! `cargo test --test leaks -- --ignored` runs it natively.

use fixture_types::Event;
use mpplugin::load::OpenOptions;
use mpplugin::{Ending, Host, LoadError, Message, Plugin, PluginLibrary, load_with};
use mpplugin_tests::fixtures::{args, fixture, report};

fn cycles() -> u64 {
    std::env::var("MPPLUGIN_LEAK_CYCLES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300)
}

#[test]
#[ignore = "run under valgrind by tests/scripts/leaks.sh"]
fn load_instantiate_use_and_drop_cycles() {
    let good = fixture("good");
    let good_args = fixture("good-args");
    let truncated = std::env::temp_dir().join(format!("mpplugin-leaks-{}.so", std::process::id()));
    let whole = std::fs::read(good).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();

    for round in 0..cycles() {
        // Load, use, drop: the plugin's own allocations (its label, its
        // reply strings) are freed by its own code.
        // SAFETY: the fixtures are built from this repository's source by
        // the same toolchain.
        let mut plugin = unsafe { load_with::<Event, _>(good_args, &args(&["leak"])) }.unwrap();
        plugin.handle_message(Message::new(Event::Add(round)));
        assert_eq!(report(&mut plugin), format!("leak: {round}"));
        drop(plugin);

        // Several instances of one library, through the explicit options.
        // SAFETY: as above.
        let library = unsafe {
            PluginLibrary::open_with(good, OpenOptions::new().allow_writable_by_others(false))
        }
        .unwrap();
        let instances: Vec<_> = (0..3)
            .map(|_| library.instantiate::<Event>().unwrap())
            .collect();
        drop(instances);

        // Refusals: by the checks, by the constructor, by its panic, and a
        // bad file.
        assert!(matches!(
            library.instantiate::<u32>(),
            Err(LoadError::MessageType { .. })
        ));
        // SAFETY: as above.
        let refused = unsafe { load_with::<Event, _>(good_args, &Vec::<String>::new()) };
        assert!(matches!(refused, Err(LoadError::ConstructorFailed { .. })));
        // SAFETY: as above.
        let panicked = unsafe { mpplugin::load::<Event>(fixture("constructor-panics")) };
        assert!(matches!(
            panicked,
            Err(LoadError::ConstructorPanicked { .. })
        ));
        // SAFETY: refused before the dynamic loader sees it.
        let bad = unsafe { PluginLibrary::open(&truncated) };
        assert!(matches!(bad, Err(LoadError::NotALibrary { .. })));

        // A host run with loaded plugins: one panics, one panics when
        // dropped, messages left unhandled.
        let mut host = Host::<Event>::new();
        // SAFETY: as above.
        unsafe {
            host.attach_with_capacity(library.instantiate::<Event>().unwrap(), 4);
            host.attach(load_with::<Event, _>(good_args, &args(&["d", "panic-on-drop"])).unwrap());
        }
        host.send(Event::Add(1)).unwrap();
        host.send(Event::Panic).unwrap();
        for value in 0..8 {
            let _ = host.send(Event::Add(value));
        }
        let exits = host.end();
        assert!(
            exits
                .iter()
                .all(|exit| matches!(exit.ending, Ending::Panicked(_))),
            "{exits:?}"
        );
        assert!(exits[1].drop_panic.is_some());
    }
    let _ = std::fs::remove_file(&truncated);
    if std::env::var_os("MPPLUGIN_LEAK_ON_PURPOSE").is_some() {
        // The script's self-check: valgrind must see this one.
        let lost: &mut Vec<u64> = Box::leak(Box::new(vec![7; 16]));
        lost.push(8);
    }
}
