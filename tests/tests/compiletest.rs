//! The `#[plugin]` attribute's compile-time contract: every misuse is an
//! error that points at the user's tokens (`ui/fail`, with the expected
//! output checked in), and every accepted form builds a working plugin
//! (`ui/pass`, each running its plugin through the `Plugin` trait).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
