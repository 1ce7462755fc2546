//! `to_record` and `from_record` agree, value by value.
use chrono::{TimeZone, Utc};
use serde_json::json;
use sync_core::{Record, SyncEntity};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
    complete: bool,
    rank: u16,
    score: f64,
    due: Option<chrono::DateTime<Utc>>,
    meta: serde_json::Value,
    #[sync(skip)]
    dirty: bool,
    #[sync(updated_at)]
    updated_at: Option<chrono::DateTime<Utc>>,
    #[sync(version)]
    version: Option<String>,
    #[sync(deleted)]
    deleted: bool,
}

fn main() {
    let item = TodoItem {
        id: "1".into(),
        text: "it's \"quoted\"".into(),
        complete: true,
        rank: 65535,
        score: -0.5,
        due: Some(Utc.with_ymd_and_hms(2030, 12, 31, 23, 59, 59).unwrap()),
        meta: json!({"tags": ["x"], "n": null}),
        dirty: true,
        updated_at: None,
        version: Some("v".into()),
        deleted: false,
    };
    let record = item.to_record().unwrap();
    assert_eq!(
        serde_json::Value::from(record.clone()),
        json!({
            "id": "1",
            "text": "it's \"quoted\"",
            "complete": true,
            "rank": 65535,
            "score": -0.5,
            "due": "2030-12-31T23:59:59Z",
            "meta": {"tags": ["x"], "n": null},
            "updatedAt": null,
            "version": "v",
            "deleted": false,
        })
    );
    let back = TodoItem::from_record(&record).unwrap();
    assert_eq!(back, TodoItem { dirty: false, ..item.clone() });

    let from_server = Record::from_json(json!({
        "id": "1", "text": "t", "complete": false, "rank": 1, "score": 2,
        "meta": [1], "updatedAt": "2024-01-01T00:00:00.000Z", "deleted": true, "unknown": "ignored"
    }))
    .unwrap();
    let item = TodoItem::from_record(&from_server).unwrap();
    assert_eq!(item.score, 2.0);
    assert_eq!(item.due, None);
    assert_eq!(item.version, None);
    assert!(item.deleted);
    assert_eq!(item.updated_at, Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()));
}
