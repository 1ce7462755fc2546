//! Field types of the user's: `#[derive(SyncValue)]` enums and newtypes, `uuid::Uuid`,
//! `#[sync(json)]` fields and types, a hand-written impl; their records, errors and schema checks.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sync_core::backend::RecordError;
use sync_core::{ColumnType, Record, SyncEntity, SyncValue, ValueError};

#[derive(SyncValue, Debug, Clone, Copy, PartialEq, Default)]
#[sync(rename_all = "kebab-case")]
enum Priority {
    #[default]
    Low,
    VeryHigh,
    #[sync(rename = "ASAP")]
    Urgent,
}

#[derive(SyncValue, Debug, Clone, Copy, PartialEq, Default)]
struct Cents(i64);

#[derive(SyncValue, Debug, Clone, PartialEq, Default)]
struct Label {
    text: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Tag {
    name: String,
    weight: u8,
}

#[derive(SyncValue, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[sync(json)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Shape {
    Circle { r: f64 },
    Square { side: f64 },
}

#[derive(SyncEntity, Debug, Clone, PartialEq, Default)]
struct Task {
    id: String,
    priority: Priority,
    fallback: Option<Priority>,
    price: Cents,
    label: Option<Label>,
    owner: uuid::Uuid,
    shape: Option<Shape>,
    #[sync(json)]
    tags: Vec<Tag>,
    #[sync(json, rename = "meta")]
    extra: Option<std::collections::BTreeMap<String, i32>>,
}

fn task() -> Task {
    Task {
        id: "t1".into(),
        priority: Priority::VeryHigh,
        fallback: Some(Priority::Urgent),
        price: Cents(1999),
        label: Some(Label { text: "home".into() }),
        owner: uuid::Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap(),
        shape: Some(Shape::Circle { r: 1.5 }),
        tags: vec![Tag { name: "a".into(), weight: 3 }],
        extra: Some([("x".to_owned(), 1)].into()),
    }
}

fn with(column: &str, value: Value) -> Record {
    let mut r = task().to_record().unwrap();
    r.set(column, value).unwrap();
    r
}

#[test]
fn records_hold_the_stored_forms_and_read_back_equal() {
    let r = task().to_record().unwrap();
    assert_eq!(r.get("priority"), Some(&json!("very-high")));
    assert_eq!(r.get("fallback"), Some(&json!("ASAP")));
    assert_eq!(r.get("price"), Some(&json!(1999)));
    assert_eq!(r.get("label"), Some(&json!("home")));
    assert_eq!(r.get("owner"), Some(&json!("67e55044-10b1-426f-9247-bb680e5fe0c8")));
    assert_eq!(r.get("shape"), Some(&json!({"kind": "circle", "r": 1.5})));
    assert_eq!(r.get("tags"), Some(&json!([{"name": "a", "weight": 3}])));
    assert_eq!(r.get("meta"), Some(&json!({"x": 1})));
    assert_eq!(Task::from_record(&r).unwrap(), task());

    let nones = Task { fallback: None, label: None, shape: None, extra: None, tags: vec![], ..task() };
    let r = nones.to_record().unwrap();
    for column in ["fallback", "label", "shape", "meta"] {
        assert_eq!(r.get(column), Some(&Value::Null), "{column}");
    }
    assert_eq!(r.get("tags"), Some(&json!([])));
    assert_eq!(Task::from_record(&r).unwrap(), nones);
}

#[test]
fn the_schema_takes_the_types_columns() {
    let schema = Task::schema();
    let column = |c: &str| schema.column(c).map(|c| (c.ty, c.nullable));
    assert_eq!(column("priority"), Some((ColumnType::String, false)));
    assert_eq!(column("fallback"), Some((ColumnType::String, true)));
    assert_eq!(column("price"), Some((ColumnType::Integer, false)));
    assert_eq!(column("label"), Some((ColumnType::String, true)));
    assert_eq!(column("owner"), Some((ColumnType::String, false)));
    assert_eq!(column("shape"), Some((ColumnType::Json, true)));
    assert_eq!(column("tags"), Some((ColumnType::Json, false)));
    assert_eq!(column("meta"), Some((ColumnType::Json, true)));
    assert_eq!(Task::PRIORITY.name(), "priority");
    assert_eq!(Task::EXTRA.name(), "meta");
}

#[test]
fn values_the_types_refuse_are_errors_naming_the_column() {
    for (column, value, message) in [
        ("priority", json!("medium"), r#"expected one of "low", "very-high", "ASAP", found the string "medium""#),
        ("priority", json!("VeryHigh"), r#"found the string "VeryHigh""#),
        ("fallback", json!(3), r#"expected one of "low", "very-high", "ASAP", found 3"#),
        ("price", json!("12"), "invalid type: string \"12\", expected i64"),
        ("label", json!(true), "invalid type: boolean `true`, expected a string"),
        ("owner", json!("nobody"), r#"expected a UUID, found the string "nobody""#),
        ("shape", json!({"kind": "triangle"}), "unknown variant `triangle`"),
        ("tags", json!([{"name": "a"}]), "missing field `weight`"),
        ("tags", json!([{"name": "a", "weight": 300}]), "invalid value: integer `300`, expected u8"),
        ("meta", json!("text"), "invalid type: string \"text\", expected a map"),
    ] {
        match Task::from_record(&with(column, value.clone())) {
            Err(RecordError::Field { field, message: m }) => {
                assert_eq!(field, column, "{value}");
                assert!(m.contains(message), "{column} = {value}: {m}");
            }
            other => panic!("{column} = {value}: {other:?}"),
        }
    }
}

#[test]
fn null_is_none_for_options_and_an_error_otherwise() {
    for column in ["priority", "price", "owner", "tags"] {
        let r = with(column, Value::Null);
        assert_eq!(Task::from_record(&r), Err(RecordError::NullValue { column: column.into() }), "{column}");
        let mut absent = r;
        absent.remove(column);
        assert_eq!(Task::from_record(&absent), Err(RecordError::NullValue { column: column.into() }), "{column}");
    }
    for column in ["fallback", "label", "shape", "meta"] {
        assert!(Task::from_record(&with(column, Value::Null)).is_ok(), "{column}");
    }
}

#[test]
fn the_schema_checks_values_by_their_types() {
    let schema = Task::schema();
    let good = task().to_record().unwrap();
    let conformed = schema.conform_local(good.clone()).unwrap();
    assert!(schema.is_conformed(&conformed));
    assert_eq!(Task::from_record(&conformed).unwrap(), task());
    for (column, value) in [
        ("priority", json!("medium")),
        ("fallback", json!("nope")),
        ("owner", json!("nobody")),
        ("tags", json!([{"name": "a"}])),
        ("shape", json!({"kind": "triangle"})),
    ] {
        let mut bad = conformed.clone();
        bad.set(column, value.clone()).unwrap();
        assert!(!schema.is_conformed(&bad), "{column} = {value}");
        for result in [schema.conform_local(bad.clone()), schema.conform_remote(bad)] {
            match result {
                Err(RecordError::Field { field, .. }) => assert_eq!(field, column),
                other => panic!("{column} = {value}: {other:?}"),
            }
        }
    }
    // A server row's JSON arrives as text: it is parsed, then checked.
    let text = with("tags", json!(r#"[{"name":"b","weight":1}]"#));
    let read = schema.conform_remote(text).unwrap();
    assert_eq!(Task::from_record(&read).unwrap().tags, vec![Tag { name: "b".into(), weight: 1 }]);
    let wrong_text = with("tags", json!(r#"{"not":"a list"}"#));
    assert!(matches!(schema.conform_remote(wrong_text), Err(RecordError::Field { field, .. }) if field == "tags"));
    // Checks are code: a schema read back from a store (no checks) equals the declared one.
    let stored: sync_core::TableSchema = serde_json::from_str(&serde_json::to_string(&schema).unwrap()).unwrap();
    assert_eq!(stored, schema);
}

#[test]
fn defaults_use_the_types_stored_forms() {
    #[derive(SyncEntity, Debug, Clone, PartialEq)]
    struct Later {
        id: String,
        #[sync(default = Priority::Urgent)]
        priority: Priority,
        #[sync(default)]
        price: Cents,
        #[sync(json, default)]
        tags: Vec<Tag>,
    }
    let schema = Later::schema();
    let default = |c: &str| schema.column(c).and_then(|c| c.default.clone());
    assert_eq!(default("priority"), Some(json!("ASAP")));
    assert_eq!(default("price"), Some(json!(0)));
    assert_eq!(default("tags"), Some(json!([])));
}

/// Odd numbers only: a hand-written impl that refuses some values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Odd(i64);

impl SyncValue for Odd {
    const COLUMN_TYPE: ColumnType = ColumnType::Integer;

    fn to_json(&self) -> Result<Value, ValueError> {
        Ok(self.0.into())
    }

    fn from_json(value: &Value) -> Result<Self, ValueError> {
        match value.as_i64() {
            Some(n) if n % 2 != 0 => Ok(Odd(n)),
            _ => Err(ValueError::expected("an odd integer", value)),
        }
    }
}

#[test]
fn a_hand_written_impl_just_works() {
    #[derive(SyncEntity, Debug, Clone, PartialEq)]
    struct Counter {
        id: String,
        odd: Odd,
        maybe: Option<Odd>,
    }
    let c = Counter { id: "c".into(), odd: Odd(3), maybe: None };
    let r = c.to_record().unwrap();
    assert_eq!(r.get("odd"), Some(&json!(3)));
    assert_eq!(Counter::from_record(&r).unwrap(), c);
    let mut even = r.clone();
    even.set("odd", json!(4)).unwrap();
    assert_eq!(
        Counter::from_record(&even),
        Err(RecordError::Field { field: "odd".into(), message: "expected an odd integer, found 4".into() })
    );
    let schema = Counter::schema();
    assert!(matches!(schema.conform_remote(even), Err(RecordError::Field { field, .. }) if field == "odd"));
    assert_eq!(schema.column("odd").map(|c| (c.ty, c.nullable)), Some((ColumnType::Integer, false)));
}

#[test]
fn derived_values_compare_in_queries() {
    use sync_core::backend::{odata_filter, resolve_query};
    use sync_core::Query;
    let q = Query::new().filter(
        Task::PRIORITY.eq(Priority::Urgent)
            & Task::PRICE.ge(Cents(100))
            & Task::OWNER.ne(uuid::Uuid::nil())
            & Task::FALLBACK.is_in([Priority::Low, Priority::VeryHigh]),
    );
    let resolved = resolve_query(&q, &Task::schema()).unwrap();
    assert_eq!(
        odata_filter(resolved.filter.as_ref().unwrap()),
        "((priority eq 'ASAP') and (price ge 100) and (owner ne '00000000-0000-0000-0000-000000000000') \
         and (fallback eq 'low' or fallback eq 'very-high'))"
    );
}
