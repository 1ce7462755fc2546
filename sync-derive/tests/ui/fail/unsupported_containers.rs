use std::collections::HashMap;
use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct Basket {
    id: String,
    items: Vec<String>,
    counts: HashMap<String, i32>,
    pair: (i32, i32),
    text: &'static str,
    nested: Option<Option<i32>>,
}

fn main() {}
