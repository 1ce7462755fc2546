use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    __secret: String,
    #[sync(rename = "__system")]
    system: bool,
}

fn main() {}
