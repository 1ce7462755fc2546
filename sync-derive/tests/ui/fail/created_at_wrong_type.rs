use chrono::{DateTime, Utc};
use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    #[sync(created_at)]
    created_at: DateTime<Utc>,
}

fn main() {}
