use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    key: String,
    text: String,
}

fn main() {}
