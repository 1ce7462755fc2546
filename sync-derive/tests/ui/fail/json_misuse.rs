use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct Doc {
    #[sync(json)]
    id: String,
    #[sync(json, skip)]
    cache: Vec<String>,
    #[sync(json)]
    already: serde_json::Value,
    #[sync(json)]
    twice: Option<Option<Vec<i32>>>,
    #[sync(json = true)]
    valued: Vec<i32>,
    #[sync(version, json)]
    version: Option<String>,
}

#[derive(SyncEntity)]
struct NotSerde {
    id: String,
    #[sync(json)]
    raw: std::fs::File,
}

fn main() {}
