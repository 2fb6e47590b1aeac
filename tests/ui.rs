//! Every compile error a user can hit, with the exact message (`tests/ui/*.stderr`).
//! Regenerate after a deliberate change with `TRYBUILD=overwrite cargo test --test ui`
//! and review each `.stderr` as the user would read it.

#[test]
fn compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
