use sync_core::SyncEntity;

#[derive(SyncEntity)]
#[sync(table)]
struct TodoItem {
    id: String,
    #[sync(rename)]
    a: String,
    #[sync(rename = text)]
    b: String,
    #[sync(skip = true)]
    c: String,
    #[sync]
    d: String,
    #[sync(rename = "x", rename = "y")]
    e: String,
}

fn main() {}
