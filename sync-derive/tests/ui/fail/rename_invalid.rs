use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    #[sync(rename = "due date")]
    due: String,
    #[sync(rename = "1st")]
    first: String,
    #[sync(rename = "")]
    empty: String,
    #[sync(
        rename = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    )]
    long: String,
    café: String,
}

fn main() {}
