use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    #[sync(rename = "itemId")]
    id: String,
    #[sync(skip, rename = "b")]
    a: String,
    #[sync(version, deleted)]
    flags: Option<String>,
    #[sync(updated_at, rename = "modified")]
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
    #[sync(deleted)]
    #[sync(skip)]
    deleted: bool,
}

fn main() {}
