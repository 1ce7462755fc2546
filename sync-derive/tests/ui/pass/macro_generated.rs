//! Structs and field types that come through `macro_rules!` (types arrive wrapped in invisible groups).
use sync_core::SyncEntity;

macro_rules! entity {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(SyncEntity, Debug, PartialEq)]
        struct $name {
            id: String,
            $($field: $ty),*
        }
    };
}

entity!(Generated { count: Option<u32>, when: chrono::DateTime<chrono::Utc>, data: serde_json::Value });

fn main() {
    let g =
        Generated { id: "g".into(), count: Some(3), when: chrono::DateTime::UNIX_EPOCH, data: serde_json::json!(1) };
    assert_eq!(Generated::from_record(&g.to_record().unwrap()).unwrap(), g);
    assert!(Generated::schema().column("count").unwrap().nullable);
    assert_eq!(Generated::WHEN.name(), "when");
}
