//! Drifted builds of one types crate (`fixtures/drift-types`), each plugin
//! built with one feature that changes a type while keeping its name, size
//! and alignment: each is refused before construction, with the path of the
//! first difference and what the host and the plugin have there. The
//! identical build loads and reads what the host sends; malformed shape
//! graphs in hand-made declarations are refused at open, each with what is
//! wrong.

use std::path::Path;
use std::time::Duration;

use fixture_drift_types::{Config, Foreign, Inner, Msg, Op, Wrapper};
use mpplugin::shape::ShapeDifference;
use mpplugin::shape::TypeShape;
use mpplugin::{LoadError, Message, Plugin, PluginLibrary, load_with};
use mpplugin_tests::fixtures::{declaration_outside, drifted, malformed_shape};
use mpplugin_tests::scratch::Scratch;
use mpplugin_tests::watchdog::watchdog;

fn open(path: &Path) -> Result<PluginLibrary, LoadError> {
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test.
    unsafe { PluginLibrary::open(path) }
}

fn config() -> Config {
    Config {
        label: "drift".to_owned(),
        limit: 200,
    }
}

/// What the host sends, and the status the plugin detaches with when it
/// reads it as the host wrote it.
fn message() -> (Msg, u8) {
    let message = Msg {
        count: 7,
        ratio: 2.0,
        small: 3,
        op: Op::Add(2),
        inner: Inner { scale: 5 },
        wrapped: Wrapper { value: 11 },
        id: Foreign(13),
    };
    (message, 7 + 2 + 3 + 5 + 11 + 2 + 13)
}

/// The refusal of the plugin built with `feature`: its message or argument
/// shape differs, and nothing was constructed.
fn refused(feature: &str) -> (LoadError, ShapeDifference) {
    let library =
        open(drifted(Some(feature))).expect("a drifted plugin opens: only its types differ");
    let Err(error) = library.instantiate_with::<Msg, Config>(&config()) else {
        panic!("the plugin built with `{feature}` was loaded");
    };
    let difference = match &error {
        LoadError::MessageShape { difference, .. } => {
            assert!(difference.path.starts_with("Msg"), "{difference:?}");
            difference.clone()
        }
        LoadError::ArgumentShape { difference, .. } => {
            assert!(difference.path.starts_with("Config"), "{difference:?}");
            difference.clone()
        }
        other => panic!("`{feature}`: expected a shape refusal, got {other:?}"),
    };
    assert_eq!(library.check_with::<Msg, Config>(), Err(error.clone()));
    (error, difference)
}

#[test]
fn the_identical_build_loads_and_reads_what_the_host_sends() {
    // SAFETY: as in `open`.
    let mut plugin = unsafe { load_with::<Msg, Config>(drifted(None), &config()) }
        .expect("the identical build loads");
    let (message, status) = message();
    assert_eq!(plugin.handle_message(Message::new(message)), Some(status));
}

#[test]
fn swapped_fields_are_refused_at_the_first_of_them() {
    let (error, difference) = refused("swap-fields");
    assert_eq!(difference.path, "Msg.count");
    assert!(
        difference.host.starts_with("field 1 of 7"),
        "{difference:?}"
    );
    assert!(
        difference.plugin.starts_with("field 2 of 7"),
        "{difference:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("reads its messages laid out otherwise than this host: at `Msg.count` the host has field 1 of 7"),
        "{text}"
    );
    assert!(text.contains("same features and cfgs"), "{text}");
}

#[test]
fn reordered_variants_are_refused_at_the_variant() {
    let (_, difference) = refused("swap-variants");
    assert_eq!(difference.path, "Msg.op::Add");
    assert_eq!(difference.host, "variant 1 of 2, discriminant 0");
    assert_eq!(difference.plugin, "variant 2 of 2, discriminant 1");
}

#[test]
fn a_field_of_another_type_of_the_same_size_is_refused() {
    let (_, difference) = refused("signed-count");
    assert_eq!(difference.path, "Msg.count");
    assert_eq!(
        (difference.host.as_str(), difference.plugin.as_str()),
        ("`u64`", "`i64`")
    );
}

#[test]
fn a_nested_field_of_another_type_is_refused_with_its_path() {
    let (_, difference) = refused("float-scale");
    assert_eq!(difference.path, "Msg.inner.scale");
    assert_eq!(
        (difference.host.as_str(), difference.plugin.as_str()),
        ("`u32`", "`f32`")
    );
}

#[test]
fn a_field_added_in_the_padding_is_refused() {
    let (_, difference) = refused("extra-field");
    assert_eq!(difference.path, "Msg.extra");
    assert_eq!(difference.host, "no field `extra`");
    assert_eq!(difference.plugin, "field `extra`");
}

#[test]
fn other_generic_arguments_are_refused() {
    let (_, difference) = refused("generic-arg");
    assert_eq!(difference.path, "Msg.wrapped");
    assert!(difference.host.contains("Wrapper<u32>"), "{difference:?}");
    assert!(difference.plugin.contains("Wrapper<f32>"), "{difference:?}");
}

#[test]
fn an_argument_of_another_shape_is_refused() {
    let (error, difference) = refused("swap-config");
    assert!(
        matches!(error, LoadError::ArgumentShape { .. }),
        "{error:?}"
    );
    assert_eq!(difference.path, "Config.label");
}

#[test]
fn an_opaque_field_is_accepted_and_reported() {
    let library = open(drifted(None)).unwrap();
    let info = library.info();
    assert_eq!(info.message_shape.opaque_fields(), ["Msg.id"]);
    assert_eq!(
        info.argument_shape
            .as_ref()
            .map(|shape| shape.opaque_fields()),
        Some(vec![])
    );
    let shown = info.to_string();
    assert!(
        shown.contains("opaque    Msg.id (checked by name, size and alignment only)"),
        "{shown}"
    );
    assert_eq!(library.check_with::<Msg, Config>(), Ok(()));
}

#[test]
fn the_shapes_in_the_info_are_the_plugins_view() {
    let library = open(drifted(Some("float-scale"))).unwrap();
    let printed = library.info().message_shape.to_string();
    assert!(printed.contains("scale @0: f32"), "{printed}");
    let printed = open(drifted(None))
        .unwrap()
        .info()
        .message_shape
        .to_string();
    assert!(printed.contains("scale @0: u32"), "{printed}");
}

/// The reason `shape-malformed` built with `case` is refused for, at open.
fn malformed(case: &str) -> String {
    let error = open(malformed_shape(case)).unwrap_err();
    let LoadError::BadDeclaration { reason, .. } = error else {
        panic!("expected BadDeclaration for {case}, got {error:?}");
    };
    let prefix = "its message type's shape is malformed: ";
    reason
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{case}: not `{prefix}...`: {reason}"))
        .to_owned()
}

/// `0x...` as `0xADDR`, so that a reason can be compared whole.
fn without_addresses(reason: &str) -> String {
    let mut out = String::new();
    let mut rest = reason;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        out.push_str("0xADDR");
        rest = rest[at + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

#[cfg(target_os = "linux")]
#[test]
fn a_shape_node_outside_the_library_is_refused_at_open() {
    assert_eq!(
        malformed("outside"),
        format!(
            "a node at 0x1000 ({} bytes) is outside the library's readable memory",
            size_of::<mpplugin::shape::StaticNode>()
        )
    );
}

#[test]
fn a_misaligned_shape_node_is_refused_at_open() {
    assert_eq!(
        without_addresses(&malformed("misaligned")),
        format!(
            "a node at 0xADDR is not aligned to its {} bytes",
            align_of::<mpplugin::shape::StaticNode>()
        )
    );
}

#[test]
fn a_shape_name_that_is_not_utf8_is_refused_at_open() {
    assert_eq!(malformed("not-utf8"), "a type's name is not UTF-8");
}

#[test]
fn an_absurd_shape_length_is_refused_before_it_is_read() {
    assert_eq!(
        malformed("absurd-length"),
        format!(
            "a type's name claims {} items, more than the 65536 a type may have",
            usize::MAX / 2
        )
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_lazy_shape_whose_function_is_not_the_librarys_is_refused_uncalled() {
    // Its function is libc's `abort`: called, it would end this process.
    assert_eq!(
        without_addresses(&malformed("lazy-outside-code")),
        "a lazy shape's function at 0xADDR is outside the library's code"
    );
}

#[test]
fn a_graph_of_one_identity_at_many_addresses_is_refused_without_reading_it_all() {
    // 65536 fields whose types lie at as many addresses of zeroed memory,
    // each a valid node of one identity. Read whole with an address list
    // searched at each, this took minutes at the reference limit.
    let done = watchdog(
        "reading a graph of 65536 addresses".to_owned(),
        Duration::from_secs(120),
    );
    assert_eq!(malformed("many-zeroed"), "more than 4096 types");
    drop(done);
}

/// `open` checks a plugin's graph without reading it: every malformed build
/// is refused at `open` in the words of the full read (what `open` did
/// before, `__private::message_shape`), each side on a copy of its own, so
/// that neither answer comes from what the other cached.
#[test]
fn open_refuses_every_malformed_build_in_the_words_of_the_full_read() {
    use mpplugin::__private::message_shape;
    use mpplugin::abi::PluginDeclaration;

    let scratch = Scratch::new("drift-check-as-read");
    let mut cases = vec!["misaligned", "not-utf8", "absurd-length", "many-zeroed"];
    if cfg!(target_os = "linux") {
        cases.extend(["outside", "lazy-outside-code"]);
    }
    for case in cases {
        let copy = |side: &str| {
            let copy = scratch.join(format!("lib{case}-{side}.so"));
            std::fs::copy(malformed_shape(case), &copy).expect("the build copies");
            copy
        };
        let error = open(&copy("open")).expect_err("a malformed shape is refused");
        let LoadError::BadDeclaration { reason, .. } = error else {
            panic!("expected BadDeclaration for {case}, got {error:?}");
        };
        // SAFETY: the fixture is built from this repository's source by the
        // same toolchain, with a declaration of this ABI under this symbol;
        // the library is never closed (forgotten below), so the reference
        // stays valid.
        let read = unsafe {
            let library = libloading::Library::new(copy("read")).expect("dlopen");
            let declaration: &PluginDeclaration = &**library
                .get::<*const PluginDeclaration>(b"__mpplugin_declaration__shape_malformed")
                .expect("dlsym");
            let read = message_shape(declaration).expect_err("the full read refuses it");
            std::mem::forget(library);
            read
        };
        assert_eq!(
            without_addresses(&reason),
            format!(
                "its message type's shape is malformed: {}",
                without_addresses(&read)
            ),
            "{case}"
        );
    }
}

/// The reason `declaration-outside` built with `case` is refused for, at
/// open.
fn outside(case: &str) -> String {
    let error = open(declaration_outside(case)).unwrap_err();
    let LoadError::BadDeclaration { reason, .. } = error else {
        panic!("expected BadDeclaration for {case}, got {error:?}");
    };
    reason
}

#[cfg(target_os = "linux")]
#[test]
fn a_declaration_string_outside_the_library_is_refused_unread() {
    assert_eq!(
        outside("name-outside"),
        "its name at 0x1000 (4 bytes) is outside the library's readable memory"
    );
    assert_eq!(
        without_addresses(&outside("version-outside")),
        format!(
            "its version at 0xADDR ({} bytes) is outside the library's readable memory",
            1u64 << 40
        )
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_type_name_function_that_is_not_the_librarys_is_refused_uncalled() {
    // Its function is libc's `abort`: called, it would end this process.
    assert_eq!(
        without_addresses(&outside("type-name-outside-code")),
        "its message type's name function at 0xADDR is outside the library's code"
    );
}

/// The shape refusal in `error`, or what else it is.
fn difference_of(error: &LoadError) -> ShapeDifference {
    match error {
        LoadError::MessageShape { difference, .. }
        | LoadError::ArgumentShape { difference, .. } => difference.clone(),
        other => panic!("expected a shape refusal, got {other:?}"),
    }
}

/// `load_with` knows the host's types before the library is opened, and
/// compares an equal shape with the host's graph in lockstep, without
/// reading it: it accepts and refuses what `open` then `instantiate_with`
/// do, in the same words. On copies no test opened before, so that nothing
/// comes from a library already read.
#[test]
fn load_with_known_types_says_what_open_then_instantiate_says() {
    let scratch = Scratch::new("drift-load-known-types");
    let fresh = |source: &Path, name: &str| {
        let copy = scratch.join(format!("lib{name}.so"));
        std::fs::copy(source, &copy).expect("the build copies");
        copy
    };
    // SAFETY: as in `open`.
    let plugin = unsafe { load_with::<Msg, Config>(fresh(drifted(None), "same"), &config()) }
        .expect("the identical build loads");
    let info = plugin.info();
    assert_eq!(info.message_shape, TypeShape::of::<Msg>());
    assert_eq!(
        info.message_shape.to_string(),
        open(drifted(None))
            .unwrap()
            .info()
            .message_shape
            .to_string()
    );
    assert_eq!(info.message_shape.opaque_fields(), ["Msg.id"]);
    assert_eq!(info.argument_shape, Some(TypeShape::of::<Config>()));
    for feature in [
        "swap-fields",
        "swap-variants",
        "signed-count",
        "float-scale",
        "extra-field",
        "generic-arg",
        "swap-config",
    ] {
        // SAFETY: as in `open`.
        let Err(error) = (unsafe {
            load_with::<Msg, Config>(fresh(drifted(Some(feature)), feature), &config())
        }) else {
            panic!("the plugin built with `{feature}` was loaded");
        };
        let (expected, _) = refused(feature);
        assert_eq!(difference_of(&error), difference_of(&expected), "{feature}");
        assert_eq!(
            std::mem::discriminant(&error),
            std::mem::discriminant(&expected),
            "{feature}"
        );
    }
    let mut cases = vec!["misaligned", "not-utf8", "absurd-length", "many-zeroed"];
    if cfg!(target_os = "linux") {
        cases.extend(["outside", "lazy-outside-code"]);
    }
    for case in cases {
        // SAFETY: as in `open`.
        let error = unsafe { mpplugin::load::<Msg>(fresh(malformed_shape(case), case)) }
            .expect_err("a malformed shape is refused");
        let LoadError::BadDeclaration { reason, .. } = error else {
            panic!("expected BadDeclaration for {case}, got {error:?}");
        };
        assert_eq!(
            without_addresses(&reason),
            format!(
                "its message type's shape is malformed: {}",
                without_addresses(&malformed(case))
            ),
            "{case}"
        );
    }
}
