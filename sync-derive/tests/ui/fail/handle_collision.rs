use sync_core::SyncEntity;

#[derive(SyncEntity)]
#[allow(non_snake_case)]
struct TodoItem {
    id: String,
    due_date: String,
    #[sync(rename = "due2")]
    dueDate: String,
}

fn main() {}
