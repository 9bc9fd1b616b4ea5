//! Mistakes at call sites, and in the catalog, do not compile.

#[test]
fn mistakes_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
