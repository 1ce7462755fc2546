//! A field type of the user's without a `SyncValue` impl: one error, on the type, naming the
//! trait and the ways out; nothing else (the rest of the generated code uses the type too).
use sync_core::SyncEntity;

#[derive(Debug, Clone, PartialEq)]
struct Money(i64);

#[derive(Debug, Clone, PartialEq)]
enum Colour {
    Red,
    Green,
}

#[derive(SyncEntity)]
struct Invoice {
    id: String,
    total: Money,
    colour: Option<Colour>,
}

fn main() {}
