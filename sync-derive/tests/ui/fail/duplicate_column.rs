use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    text: String,
    #[sync(rename = "text")]
    title: String,
    #[sync(rename = "TEXT")]
    heading: String,
}

fn main() {}
