use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct Pair(String, i32);

#[derive(SyncEntity)]
struct Unit;

fn main() {}
