use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct Numbered {
    id: i64,
}

#[derive(SyncEntity)]
struct Optional {
    #[sync(id)]
    key: Option<String>,
}

fn main() {}
