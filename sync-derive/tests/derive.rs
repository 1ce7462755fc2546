//! Round trips and schemas of derived entities.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use sync_core::backend::RecordError;
use sync_core::{Col, ColumnType, Query, Record, SyncEntity};

#[derive(SyncEntity, Debug, Clone, PartialEq, Default)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
    complete: bool,
    priority: i32,
    estimate: Option<f64>,
    due: Option<DateTime<Utc>>,
    starts: DateTime<Utc>,
    tags: Value,
    extra: Option<Value>,
    #[sync(rename = "ownerName")]
    owner: Option<String>,
    #[sync(skip)]
    selected: bool,
    #[sync(skip)]
    cache: Vec<String>,
    #[sync(created_at)]
    created_at: Option<DateTime<Utc>>,
    #[sync(updated_at)]
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
    #[sync(version)]
    version: Option<String>,
    #[sync(deleted)]
    deleted: bool,
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

fn item() -> TodoItem {
    TodoItem {
        id: "item-1".into(),
        text: "buy milk".into(),
        priority: -3,
        starts: at(1_700_000_000_123),
        tags: json!(["a", "b"]),
        ..TodoItem::default()
    }
}

fn record(value: Value) -> Record {
    Record::from_json(value).unwrap()
}

#[test]
fn round_trip_with_nones() {
    let item = item();
    let r = item.to_record().unwrap();
    assert_eq!(r.id(), "item-1");
    assert_eq!(r.get("text"), Some(&json!("buy milk")));
    assert_eq!(r.get("complete"), Some(&json!(false)));
    assert_eq!(r.get("priority"), Some(&json!(-3)));
    assert_eq!(r.get("estimate"), Some(&Value::Null));
    assert_eq!(r.get("due"), Some(&Value::Null));
    assert_eq!(r.get("tags"), Some(&json!(["a", "b"])));
    assert_eq!(r.get("ownerName"), Some(&Value::Null));
    assert_eq!(r.get("owner"), None, "renamed fields use the new name only");
    assert_eq!(r.get("selected"), None, "skipped fields are not stored");
    assert_eq!(r.get("cache"), None);
    assert_eq!(r.get("createdAt"), Some(&Value::Null));
    assert_eq!(r.get("updatedAt"), Some(&Value::Null));
    assert_eq!(r.get("version"), Some(&Value::Null));
    assert_eq!(r.get("deleted"), Some(&json!(false)));
    assert_eq!(r.as_map().len(), 14);
    assert_eq!(TodoItem::from_record(&r).unwrap(), item);
}

#[test]
fn round_trip_with_values() {
    let item = TodoItem {
        complete: true,
        estimate: Some(1.5),
        due: Some(at(1_700_000_000_000)),
        extra: Some(json!({"k": [1, 2, {"x": null}]})),
        owner: Some("ann".into()),
        created_at: Some(at(1_600_000_000_001)),
        updated_at: Some(
            Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::nanoseconds(123_456_789),
        ),
        version: Some("AAAAAAAAB9E=".into()),
        deleted: true,
        ..item()
    };
    let r = item.to_record().unwrap();
    assert_eq!(r.get("estimate"), Some(&json!(1.5)));
    assert_eq!(r.get("ownerName"), Some(&json!("ann")));
    assert_eq!(r.get("version"), Some(&json!("AAAAAAAAB9E=")));
    assert_eq!(r.get("deleted"), Some(&json!(true)));
    // to_record serialises date-times as chrono does; stores canonicalise them to milliseconds.
    assert_eq!(r.get("updatedAt"), Some(&json!("2024-01-02T03:04:05.123456789Z")));
    assert_eq!(TodoItem::from_record(&r).unwrap(), item);
}

#[test]
fn reads_canonical_and_offset_date_times() {
    let mut r = item().to_record().unwrap();
    r.set("due", json!("2024-01-02T03:04:05.678Z")).unwrap();
    r.set("starts", json!("2024-01-02T04:04:05+01:00")).unwrap();
    let back = TodoItem::from_record(&r).unwrap();
    assert_eq!(
        back.due,
        Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::milliseconds(678))
    );
    assert_eq!(back.starts, Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap());
}

#[test]
fn skipped_fields_default_and_absent_nullables_are_none() {
    let r = record(json!({
        "id": "x",
        "text": "t",
        "complete": true,
        "priority": 7,
        "starts": "2024-01-01T00:00:00.000Z",
        "tags": {"a": 1},
        "selected": true,
        "cache": ["not", "read"]
    }));
    let item = TodoItem::from_record(&r).unwrap();
    assert!(!item.selected, "skipped fields are never read");
    assert!(item.cache.is_empty());
    assert_eq!(item.estimate, None);
    assert_eq!(item.owner, None);
    assert_eq!(item.version, None);
    assert!(!item.deleted, "an absent `deleted` reads as false");
    assert_eq!(item.tags, json!({"a": 1}));

    let mut with_null_deleted = r.clone();
    with_null_deleted.set("deleted", Value::Null).unwrap();
    assert!(!TodoItem::from_record(&with_null_deleted).unwrap().deleted);
}

#[test]
fn json_fields_hold_null() {
    let mut item = item();
    item.tags = Value::Null;
    let r = item.to_record().unwrap();
    assert_eq!(r.get("tags"), Some(&Value::Null));
    assert_eq!(TodoItem::from_record(&r).unwrap().tags, Value::Null);
    let mut missing = r.clone();
    missing.remove("tags");
    assert_eq!(TodoItem::from_record(&missing).unwrap().tags, Value::Null);
}

#[test]
fn nulls_in_non_option_fields_are_errors() {
    for column in ["text", "complete", "priority", "starts"] {
        let mut r = item().to_record().unwrap();
        r.set(column, Value::Null).unwrap();
        match TodoItem::from_record(&r) {
            Err(RecordError::NullValue { column: c }) => assert_eq!(c, column),
            other => panic!("{column}: {other:?}"),
        }
        r.remove(column);
        assert!(matches!(TodoItem::from_record(&r), Err(RecordError::NullValue { .. })), "{column} absent");
    }
}

#[test]
fn wrong_types_are_errors_not_panics() {
    for (column, value) in [
        ("text", json!(5)),
        ("complete", json!("yes")),
        ("priority", json!(1.5)),
        ("priority", json!(i64::MAX)),
        ("estimate", json!("1.5")),
        ("due", json!("tomorrow")),
        ("starts", json!(17)),
        ("ownerName", json!(["ann"])),
        ("version", json!(3)),
        ("deleted", json!("no")),
        ("createdAt", json!(true)),
    ] {
        let mut r = item().to_record().unwrap();
        r.set(column, value.clone()).unwrap();
        match TodoItem::from_record(&r) {
            Err(RecordError::Field { field, .. }) => assert_eq!(field, column, "{value}"),
            other => panic!("{column} = {value}: {other:?}"),
        }
    }
}

#[test]
fn small_integers_are_range_checked() {
    #[derive(SyncEntity, Debug, PartialEq)]
    struct Sizes {
        id: String,
        tiny: i8,
        byte: u8,
        short: i16,
        word: u16,
        unsigned: u32,
        long: i64,
        single: f32,
    }
    let sizes = Sizes {
        id: "s".into(),
        tiny: i8::MIN,
        byte: u8::MAX,
        short: i16::MIN,
        word: u16::MAX,
        unsigned: u32::MAX,
        long: i64::MIN,
        single: 0.25,
    };
    let r = sizes.to_record().unwrap();
    assert_eq!(r.get("unsigned"), Some(&json!(4_294_967_295u32)));
    assert_eq!(Sizes::from_record(&r).unwrap(), sizes);
    let mut over = r.clone();
    over.set("byte", json!(256)).unwrap();
    assert!(matches!(Sizes::from_record(&over), Err(RecordError::Field { field, .. }) if field == "byte"));
    let mut negative = r;
    negative.set("unsigned", json!(-1)).unwrap();
    assert!(matches!(Sizes::from_record(&negative), Err(RecordError::Field { .. })));
}

#[test]
fn invalid_ids_fail_to_record() {
    let mut item = item();
    item.id = String::new();
    assert!(matches!(item.to_record(), Err(RecordError::InvalidId { .. })));
    item.set_id("a/b".into());
    assert!(matches!(item.to_record(), Err(RecordError::InvalidId { .. })));
    item.set_id("fresh".into());
    assert_eq!(item.id(), "fresh");
    assert_eq!(item.to_record().unwrap().id(), "fresh");
}

#[test]
fn schema_types_and_nullability() {
    let schema = TodoItem::schema();
    assert_eq!(schema.name(), "TodoItem");
    assert_eq!(<TodoItem as SyncEntity>::TABLE, "TodoItem");
    let col = |name: &str| {
        let c = schema.column(name).unwrap_or_else(|| panic!("no column {name}"));
        (c.ty, c.nullable)
    };
    assert_eq!(col("id"), (ColumnType::String, false));
    assert_eq!(col("text"), (ColumnType::String, false));
    assert_eq!(col("complete"), (ColumnType::Bool, false));
    assert_eq!(col("priority"), (ColumnType::Integer, false));
    assert_eq!(col("estimate"), (ColumnType::Real, true));
    assert_eq!(col("due"), (ColumnType::DateTime, true));
    assert_eq!(col("starts"), (ColumnType::DateTime, false));
    assert_eq!(col("tags"), (ColumnType::Json, true));
    assert_eq!(col("extra"), (ColumnType::Json, true));
    assert_eq!(col("ownerName"), (ColumnType::String, true));
    assert_eq!(col("createdAt"), (ColumnType::DateTime, true));
    assert_eq!(col("updatedAt"), (ColumnType::DateTime, true));
    assert_eq!(col("version"), (ColumnType::String, true));
    assert_eq!(col("deleted"), (ColumnType::Bool, false));
    assert!(schema.column("owner").is_none());
    assert!(schema.column("selected").is_none());
    let users: Vec<&str> = schema.user_columns().map(|c| c.name.as_str()).collect();
    assert_eq!(users, ["text", "complete", "priority", "estimate", "due", "starts", "tags", "extra", "ownerName"]);
}

#[test]
fn records_conform_to_the_schema() {
    let schema = TodoItem::schema();
    let item = TodoItem { due: Some(at(1_700_000_000_123)), ..item() };
    let stored = schema.conform_local(item.to_record().unwrap()).unwrap();
    assert_eq!(stored.get("due"), Some(&json!("2023-11-14T22:13:20.123Z")));
    assert_eq!(TodoItem::from_record(&stored).unwrap(), item);
}

#[test]
fn column_handles() {
    let _: Col<String> = TodoItem::TEXT;
    let _: Col<i32> = TodoItem::PRIORITY;
    let _: Col<f64> = TodoItem::ESTIMATE;
    let _: Col<DateTime<Utc>> = TodoItem::DUE;
    let _: Col<Value> = TodoItem::TAGS;
    let _: Col<bool> = TodoItem::DELETED;
    assert_eq!(TodoItem::ID.name(), "id");
    assert_eq!(TodoItem::OWNER.name(), "ownerName");
    assert_eq!(TodoItem::CREATED_AT.name(), "createdAt");
    assert_eq!(TodoItem::UPDATED_AT.name(), "updatedAt");
    assert_eq!(TodoItem::VERSION.name(), "version");
    let q = Query::new()
        .filter(TodoItem::COMPLETE.eq(false) & TodoItem::PRIORITY.gt(2) & TodoItem::DUE.lt(at(0)))
        .filter(TodoItem::OWNER.eq("ann".to_string()) | TodoItem::TAGS.is_null())
        .order_by(TodoItem::UPDATED_AT.desc());
    assert_eq!(q.order_by[0].column, "updatedAt");
    let filter = sync_core::backend::odata_filter(q.filter.as_ref().unwrap());
    assert!(filter.contains("ownerName eq 'ann'"), "{filter}");
    assert!(filter.contains("priority gt 2"), "{filter}");
}

#[test]
fn explicit_id_and_default_table_name() {
    #[derive(SyncEntity, Debug, PartialEq)]
    struct Note {
        #[sync(id)]
        key: String,
        r#type: String,
        #[sync(rename = "created_at")]
        created_at: i64,
    }
    assert_eq!(Note::TABLE, "Note");
    assert_eq!(Note::KEY.name(), "id");
    assert_eq!(Note::TYPE.name(), "type");
    assert_eq!(Note::CREATED_AT.name(), "created_at");
    let note = Note { key: "k1".into(), r#type: "memo".into(), created_at: 5 };
    assert_eq!(note.id(), "k1");
    let r = note.to_record().unwrap();
    assert_eq!(r.as_map().len(), 3);
    assert_eq!(r.get("type"), Some(&json!("memo")));
    assert_eq!(Note::from_record(&r).unwrap(), note);
}

#[test]
fn a_field_named_table() {
    #[derive(SyncEntity)]
    #[sync(table = "Reservation")]
    struct Reservation {
        id: String,
        table: i32,
    }
    // The handle hides the trait's constant in `Reservation::TABLE` paths.
    assert_eq!(Reservation::TABLE.name(), "table");
    assert_eq!(<Reservation as SyncEntity>::TABLE, "Reservation");
    assert_eq!(Reservation::schema().name(), "Reservation");
    let r = Reservation { id: "r".into(), table: 4 }.to_record().unwrap();
    assert_eq!(Reservation::from_record(&r).unwrap().table, 4);
}
