use sync_core::SyncEntity;

#[derive(SyncEntity)]
#[sync(table = "TodoItem", name = "Todo")]
struct TodoItem {
    id: String,
    #[sync(ignore)]
    cache: String,
    #[sync(createdAt)]
    created: Option<chrono::DateTime<chrono::Utc>>,
    #[sync(frobnicate = 3)]
    text: String,
    #[sync(table = "X")]
    other: String,
}

fn main() {}
