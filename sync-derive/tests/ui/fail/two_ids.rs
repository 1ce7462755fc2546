use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    #[sync(id)]
    key: String,
}

fn main() {}
