//! Renamed columns, skipped fields of any type, raw identifiers, the `created_at` opt-out, attributes
//! split over several `#[sync]`s, and other attributes left alone.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use sync_core::SyncEntity;

#[derive(SyncEntity, Clone, Debug, Default)]
#[sync(table = "Things")]
#[allow(non_snake_case)]
struct Thing {
    id: String,
    #[sync(rename = "displayName")]
    #[doc = "other attributes are not ours"]
    name: String,
    r#type: Option<String>,
    #[sync(rename = "created_at")]
    created_at: Option<i64>,
    dueDate: Option<i32>,
    #[sync(skip)]
    cache: HashMap<String, Vec<u8>>,
    #[sync(skip)]
    #[sync()]
    handle: Option<Arc<Mutex<u8>>>,
    #[sync(rename = "_Weird_Name_1")]
    weird: bool,
}

// Skipped fields may have any type with a `Default`.
#[derive(SyncEntity, Default)]
struct Skips {
    id: String,
    #[sync(skip)]
    scratch: Vec<(u64, usize)>,
    #[sync(skip)]
    __private: u128,
}

fn main() {
    let thing = Thing {
        id: "t".into(),
        name: "n".into(),
        r#type: Some("kind".into()),
        created_at: Some(3),
        dueDate: Some(4),
        cache: HashMap::from([("k".to_string(), vec![1])]),
        handle: Some(Arc::new(Mutex::new(1))),
        weird: true,
    };
    let record = thing.to_record().unwrap();
    let mut keys: Vec<&str> = record.as_map().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["_Weird_Name_1", "created_at", "displayName", "dueDate", "id", "type"]);
    let back = Thing::from_record(&record).unwrap();
    assert!(back.cache.is_empty() && back.handle.is_none());
    assert_eq!(back.r#type.as_deref(), Some("kind"));
    assert_eq!(Thing::NAME.name(), "displayName");
    assert_eq!(Thing::TYPE.name(), "type");
    assert_eq!(Thing::DUE_DATE.name(), "dueDate");
    assert_eq!(Thing::CREATED_AT.name(), "created_at");
    assert_eq!(Thing::WEIRD.name(), "_Weird_Name_1");

    let skips = Skips { id: "s".into(), scratch: vec![(1, 2)], __private: 9 };
    let back = Skips::from_record(&skips.to_record().unwrap()).unwrap();
    assert!(back.scratch.is_empty());
    assert_eq!(back.__private, 0);
    assert_eq!(Skips::schema().user_columns().count(), 0);
}
