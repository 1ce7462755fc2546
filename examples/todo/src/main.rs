//! The todo example (work in progress).
fn main() {}
