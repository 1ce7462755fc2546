use sync_core::SyncEntity;

/// Named like `serde_json::Value`, but not it.
type Value = String;

#[derive(SyncEntity)]
struct Setting {
    id: String,
    value: Value,
}

fn main() {}
