use sync_core::SyncEntity;

#[derive(SyncEntity)]
#[sync(table = "Todo", renamed_from = "Todo")]
struct Todo {
    #[sync(default)]
    id: String,
    #[sync(skip, default = 3)]
    cached: i32,
    #[sync(default)]
    maybe: Option<i32>,
    #[sync(renamed_from = "text")]
    title: String,
    text: String,
    #[sync(renamed_from = "1bad")]
    a: String,
    #[sync(renamed_from = "old")]
    b: String,
    #[sync(renamed_from = "old", convert = true)]
    c: String,
    #[sync(version, convert)]
    version: Option<String>,
    #[sync(keep_cursors)]
    d: bool,
}

#[derive(SyncEntity)]
#[sync(table = "Other")]
struct WrongDefaultType {
    id: String,
    #[sync(default = "high")]
    priority: i32,
}

fn main() {}

#[derive(SyncEntity)]
struct JsonDefault {
    id: String,
    #[sync(default)]
    extra: serde_json::Value,
}
