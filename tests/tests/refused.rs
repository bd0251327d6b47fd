//! A library refused after it was loaded stays loaded: were it closed, the
//! next library could be mapped at its addresses, and what the loader read
//! from it (its shapes, cached by the address of their roots) would be
//! taken for the newcomer's. Alone in its test binary, so that no other
//! test's libraries are mapped in between.

use mpplugin::{LoadError, PluginLibrary};
use mpplugin_tests::fixtures::malformed_shape;

#[test]
fn a_library_refused_after_loading_stays_loaded_and_its_shapes_are_not_anothers() {
    // Both built before either is opened: a build runs cargo, which maps
    // nothing here, but keeps the two opens next to each other.
    let refused = malformed_shape("argument-malformed");
    let swapped = malformed_shape("offsets-swapped");
    // SAFETY: the fixtures are built from this repository's source by the
    // same toolchain, for this test.
    let error = unsafe { PluginLibrary::open(refused) }.unwrap_err();
    let LoadError::BadDeclaration { reason, .. } = &error else {
        panic!("expected BadDeclaration, got {error:?}");
    };
    assert!(
        reason.starts_with("its argument type's shape is malformed: "),
        "{reason}"
    );
    // The error says what it says after the library is refused (its text may
    // come from the library).
    assert!(error.to_string().contains("argument type"), "{error}");
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let name = std::fs::canonicalize(refused).unwrap();
    let name = name.to_str().unwrap();
    assert!(
        maps.lines().any(|line| line.ends_with(name)),
        "the refused library is no longer mapped"
    );
    // SAFETY: as above.
    let library = unsafe { PluginLibrary::open(swapped) }.unwrap();
    let shape = library.info().message_shape.to_string();
    assert!(
        shape.contains("x @4: u32") && shape.contains("y @0: u32"),
        "the second library's shape is not its own:\n{shape}"
    );
}
