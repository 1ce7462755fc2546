use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    #[sync(deleted)]
    deleted: Option<bool>,
}

fn main() {}
