use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    #[sync(version)]
    version: Option<String>,
    #[sync(version)]
    etag: Option<String>,
}

fn main() {}
