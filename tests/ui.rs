//! Every compile error a user can hit, with the exact message (`tests/ui/*.stderr`), and
//! declarations that must compile (`tests/ui/pass/`).
//! Regenerate after a deliberate change with `TRYBUILD=overwrite cargo test --test ui`
//! and review each `.stderr` as the user would read it.

#[test]
fn compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // What must compile: declarations at the edges of the language (attributes, lints,
    // names), each once broken.
    cases.pass("tests/ui/pass/*.rs");
}
