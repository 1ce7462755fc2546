use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    version: Option<String>,
    deleted: bool,
    #[sync(rename = "updatedAt")]
    modified: Option<chrono::DateTime<chrono::Utc>>,
    #[sync(rename = "ID")]
    other_id: String,
}

fn main() {}
