//! A library of several plugins (the `several-plugins` fixture: `First` and
//! `Second` for `Event`, `Third` for `u32` with a `String` argument): each
//! listed, each made by name, the one that fits made by type, and the
//! ambiguous, unfitting and unknown asks refused with what to do.

use std::path::Path;

use fixture_types::Event;
use mpplugin::load::TypeInfo;
use mpplugin::{Ending, Host, LoadError, Plugin, PluginLibrary};
use mpplugin_tests::fixtures::{fixture, report};

fn several() -> (&'static Path, PluginLibrary) {
    let path = fixture("several-plugins");
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test.
    let library = unsafe { PluginLibrary::open(path) }.expect("a library of three plugins opens");
    (path, library)
}

fn event() -> TypeInfo {
    TypeInfo::of::<Event>()
}

#[test]
fn every_plugin_of_a_library_is_listed_in_symbol_order() {
    let (path, library) = several();
    let plugins = library.plugins();
    let types: Vec<&str> = plugins.iter().map(|info| &*info.plugin_type).collect();
    assert_eq!(types, ["First", "Second", "Third"]);
    let symbols: Vec<&str> = plugins.iter().map(|info| &*info.symbol).collect();
    assert_eq!(
        symbols,
        [
            "__mpplugin_declaration__fixture_several_plugins__First",
            "__mpplugin_declaration__fixture_several_plugins__Second",
            "__mpplugin_declaration__fixture_several_plugins__Third",
        ]
    );
    for info in plugins {
        assert_eq!(info.path, path);
        assert_eq!(info.name, "fixture-several-plugins");
    }
    assert_eq!(plugins[0].message, event());
    assert_eq!(plugins[1].message, event());
    assert_eq!(plugins[2].message, TypeInfo::of::<u32>());
    assert_eq!(plugins[0].argument, None);
    assert_eq!(plugins[1].argument, None);
    assert_eq!(plugins[2].argument, Some(TypeInfo::of::<String>()));
    assert_eq!(library.info(), &plugins[0], "info() is the first plugin");
    library.check_build().unwrap();
}

#[test]
fn each_plugin_is_made_by_its_type_name() {
    let (_, library) = several();
    let mut first = library.instantiate_named::<Event>("First").unwrap();
    let mut second = library.instantiate_named::<Event>("Second").unwrap();
    assert_eq!(first.info().plugin_type, "First");
    assert_eq!(second.info().plugin_type, "Second");
    assert_eq!(first.name(), "fixture-several-plugins::First");
    assert_eq!(second.name(), "fixture-several-plugins::Second");
    first.handle_message(Event::Add(5).into());
    second.handle_message(Event::Add(5).into());
    assert_eq!(report(&mut first), "first: 5");
    assert_eq!(report(&mut second), "second: 2");

    let mut third = library
        .instantiate_named_with::<u32, _>("Third", &"3".to_owned())
        .unwrap();
    assert_eq!(third.info().plugin_type, "Third");
    assert_eq!(third.handle_message(2.into()), None);
    assert_eq!(third.handle_message(3.into()), Some(1));

    library.check_named::<Event>("Second").unwrap();
    library.check_named_with::<u32, String>("Third").unwrap();
}

#[test]
fn the_one_plugin_whose_types_fit_is_made_without_a_name() {
    let (_, library) = several();
    library.check_with::<u32, String>().unwrap();
    let mut third = library.instantiate_with::<u32, _>(&"7".to_owned()).unwrap();
    assert_eq!(third.info().plugin_type, "Third");
    assert_eq!(third.handle_message(6.into()), None);
    assert_eq!(third.handle_message(7.into()), Some(1));
}

#[test]
fn several_plugins_that_fit_are_refused_with_their_names() {
    let (path, library) = several();
    let expected = LoadError::AmbiguousPlugin {
        path: path.to_owned(),
        candidates: vec!["First".to_owned(), "Second".to_owned()],
        host: Box::new(event()),
        host_argument: None,
    };
    assert_eq!(library.check::<Event>().unwrap_err(), expected);
    let error = library.instantiate::<Event>().unwrap_err();
    assert_eq!(error, expected);
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` declares 2 plugins for messages of type {} and no argument: `First` and `Second`; pick one by name with `instantiate_named::<T>(name)`",
            path.display(),
            event()
        )
    );
}

#[test]
fn a_message_type_no_plugin_handles_is_refused_with_what_each_declares() {
    let (path, library) = several();
    let error = library.instantiate::<u64>().unwrap_err();
    assert_eq!(
        error,
        LoadError::NoPluginFits {
            path: path.to_owned(),
            host: Box::new(TypeInfo::of::<u64>()),
            host_argument: None,
            plugins: library.plugins().to_vec(),
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` declares no plugin for messages of type `u64` (size 8, align 8) and no argument, which this host asks for; it declares `First` (messages {event}, no argument), `Second` (messages {event}, no argument) and `Third` (messages `u32` (size 4, align 4), argument {string}): ask for the types one of them declares, or build a plugin against the host's types",
            path.display(),
            event = event(),
            string = TypeInfo::of::<String>(),
        )
    );
    // The right message type with the wrong argument fits no plugin either.
    assert!(matches!(
        library.instantiate::<u32>().unwrap_err(),
        LoadError::NoPluginFits {
            host_argument: None,
            ..
        }
    ));
}

#[test]
fn a_name_the_library_does_not_declare_is_refused_with_the_names_it_does() {
    let (path, library) = several();
    let error = library.instantiate_named::<Event>("Fourth").unwrap_err();
    assert_eq!(
        error,
        LoadError::NoSuchPlugin {
            path: path.to_owned(),
            name: "Fourth".to_owned(),
            plugins: vec!["First".to_owned(), "Second".to_owned(), "Third".to_owned()],
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` declares no plugin named `Fourth`; it declares `First`, `Second` and `Third`: pass one of these names, the plugin type as written in its impl block",
            path.display()
        )
    );
    assert_eq!(library.check_named::<Event>("first").unwrap_err(), {
        let LoadError::NoSuchPlugin { path, plugins, .. } = error else {
            unreachable!()
        };
        LoadError::NoSuchPlugin {
            path,
            name: "first".to_owned(),
            plugins,
        }
    });
}

#[test]
fn a_plugin_named_for_another_message_type_is_refused_as_one_plugin_would_be() {
    let (path, library) = several();
    assert_eq!(
        library.instantiate_named::<Event>("Third").unwrap_err(),
        LoadError::MessageType {
            path: path.to_owned(),
            host: event(),
            plugin: TypeInfo::of::<u32>(),
        }
    );
    assert_eq!(
        library
            .instantiate_named_with::<u32, _>("Third", &7_u64)
            .unwrap_err(),
        LoadError::ArgumentType {
            path: path.to_owned(),
            host: Some(TypeInfo::of::<u64>()),
            plugin: Some(TypeInfo::of::<String>()),
        }
    );
}

#[test]
fn plugins_of_one_library_run_side_by_side_and_outlive_its_handle() {
    let (_, library) = several();
    let first = library.instantiate_named::<Event>("First").unwrap();
    let second = library.instantiate_named::<Event>("Second").unwrap();
    // Each instance keeps the library loaded: no handle is left here.
    drop(library);
    let mut host = Host::<Event>::new();
    host.attach(first);
    host.attach(second);
    host.send(Event::Add(1)).unwrap();
    host.send(Event::Stop(4)).unwrap();
    let exits = host.end();
    let mut ended: Vec<(String, Ending)> = exits
        .iter()
        .map(|exit| (exit.name.clone(), exit.ending.clone()))
        .collect();
    ended.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        ended,
        [
            (
                "fixture-several-plugins::First".to_owned(),
                Ending::Detached(4)
            ),
            (
                "fixture-several-plugins::Second".to_owned(),
                Ending::Detached(4)
            ),
        ]
    );
}
