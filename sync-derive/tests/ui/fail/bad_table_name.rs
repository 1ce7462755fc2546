use sync_core::SyncEntity;

#[derive(SyncEntity)]
#[sync(table = "Todo-Item")]
struct TodoItem {
    id: String,
}

#[derive(SyncEntity)]
#[allow(non_camel_case_types)]
struct __Operations {
    id: String,
}

fn main() {}
