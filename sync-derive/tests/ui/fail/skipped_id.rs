use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    #[sync(skip)]
    id: String,
    text: String,
}

fn main() {}
