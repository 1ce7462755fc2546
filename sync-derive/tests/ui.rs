//! Compile-time behaviour of `#[derive(SyncEntity)]`: what compiles (`ui/pass`, run as programs)
//! and the errors misuse gets (`ui/fail`, compared with the `.stderr` next to each case).
//! Regenerate the expected errors with `TRYBUILD=overwrite cargo test -p sync-derive --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
