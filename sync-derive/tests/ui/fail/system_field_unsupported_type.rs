use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    #[sync(updated_at)]
    updated_at: std::time::SystemTime,
}

fn main() {}
