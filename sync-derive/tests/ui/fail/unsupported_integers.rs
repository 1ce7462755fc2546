use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct Counter {
    id: String,
    big: u64,
    size: usize,
    maybe: Option<i128>,
}

fn main() {}
