use serde_json::json;

use super::*;

fn schema(columns: Vec<Column>) -> TableSchema {
    TableSchema::new("Todo", columns).unwrap()
}

fn message(r: Result<SchemaUpgrade, StoreError>) -> String {
    match r {
        Err(StoreError::IncompatibleSchema { table, message }) => {
            assert_eq!(table, "Todo");
            message
        }
        other => panic!("expected IncompatibleSchema, got {other:?}"),
    }
}

#[test]
fn defaults_are_checked_and_canonical() {
    let s = schema(vec![Column::new("due", ColumnType::DateTime).with_default("2024-01-01T01:00:00+01:00")]);
    assert_eq!(s.column("due").unwrap().default, Some(json!("2024-01-01T00:00:00.000Z")));
    for bad in [
        Column::new("n", ColumnType::Integer).with_default("x"),
        Column::new("n", ColumnType::Integer).with_default(Value::Null),
    ] {
        assert!(matches!(TableSchema::new("T", vec![bad]), Err(SchemaError::Declaration { .. })));
    }
    let taken = vec![Column::new("a", ColumnType::String), Column::new("b", ColumnType::String).renamed_from("a")];
    assert!(matches!(TableSchema::new("T", taken), Err(SchemaError::Declaration { .. })));
    assert!(TableSchema::new("T", vec![]).unwrap().renamed_from("T").is_err());
}

#[test]
fn a_new_non_null_column_needs_a_default() {
    let v1 = schema(vec![Column::new("text", ColumnType::String)]);
    let v2 = schema(vec![Column::new("text", ColumnType::String), Column::new("prio", ColumnType::Integer)]);
    let m = message(SchemaUpgrade::plan(&v1, &[], &v2));
    assert!(m.contains("\"prio\"") && m.contains("#[sync(default"), "{m}");
    let v2 =
        schema(vec![Column::new("text", ColumnType::String), Column::new("prio", ColumnType::Integer).with_default(3)]);
    let plan = SchemaUpgrade::plan(&v1, &[], &v2).unwrap();
    assert_eq!(plan.added.len(), 1);
    assert!(plan.reset_cursors);
    let kept = SchemaUpgrade::plan(&v1, &[], &v2.clone().keep_cursors_on_new_columns()).unwrap();
    assert!(!kept.reset_cursors);
    let r = plan.upgrade_record(Record::from_json(json!({"id": "1", "text": "a"})).unwrap()).unwrap();
    assert_eq!(r.get("prio"), Some(&json!(3)));
}

#[test]
fn renames_removals_and_revivals() {
    let v1 = schema(vec![Column::new("text", ColumnType::String), Column::nullable("notes", ColumnType::String)]);
    let v2 = schema(vec![Column::new("title", ColumnType::String).renamed_from("text")]);
    let plan = SchemaUpgrade::plan(&v1, &[], &v2).unwrap();
    assert_eq!(plan.renamed_columns, [("text".to_owned(), "title".to_owned())]);
    assert_eq!(plan.newly_retained.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["notes"]);
    assert!(!plan.reset_cursors, "a rename or a removal keeps the cursors");
    let r = plan.upgrade_record(Record::from_json(json!({"id": "1", "text": "a", "notes": "n"})).unwrap()).unwrap();
    assert_eq!(r, Record::from_json(json!({"id": "1", "title": "a"})).unwrap());
    // The old version again: it knows nothing of the rename, so `text` is a new non-null column.
    let m = message(SchemaUpgrade::plan(&v2, &plan.retained, &v1));
    assert!(m.contains("\"text\""), "{m}");
    // A version with `title` and `notes`: `notes` comes back with its values.
    let v3 = schema(vec![Column::new("title", ColumnType::String), Column::nullable("notes", ColumnType::String)]);
    let back = SchemaUpgrade::plan(&v2, &plan.retained, &v3).unwrap();
    assert_eq!(back.revived.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["notes"]);
    assert!(back.retained.is_empty());
    assert!(back.reset_cursors, "a revived column is re-pulled");
}

#[test]
fn type_changes_need_a_declaration() {
    let v1 = schema(vec![Column::new("n", ColumnType::Integer)]);
    let m = message(SchemaUpgrade::plan(&v1, &[], &schema(vec![Column::new("n", ColumnType::Real)])));
    assert!(m.contains("\"n\"") && m.contains("#[sync(convert)]") && m.contains("migration"), "{m}");
    let plan = SchemaUpgrade::plan(&v1, &[], &schema(vec![Column::new("n", ColumnType::Real).converted()])).unwrap();
    assert_eq!(plan.converted.len(), 1);
    let loosened = SchemaUpgrade::plan(&v1, &[], &schema(vec![Column::nullable("n", ColumnType::Integer)])).unwrap();
    assert!(loosened.is_empty(), "making a column nullable changes nothing stored");
    let nullable = schema(vec![Column::nullable("n", ColumnType::Integer)]);
    let m = message(SchemaUpgrade::plan(&nullable, &[], &v1));
    assert!(m.contains("becomes non-null") && m.contains("default"), "{m}");
}

#[test]
fn conversions() {
    use ColumnType::*;
    assert_eq!(convert_value(Bool, Integer, json!(true)), Some(json!(1)));
    assert_eq!(convert_value(Integer, Bool, json!(1)), Some(json!(true)));
    assert_eq!(convert_value(Integer, Bool, json!(7)), None);
    assert_eq!(convert_value(String, DateTime, json!("2024-01-01T00:00:00Z")), Some(json!("2024-01-01T00:00:00.000Z")));
    assert_eq!(convert_value(Real, String, json!(2.5)), Some(json!("2.5")));
    assert_eq!(convert_value(Json, String, json!({"a": 1})), Some(json!("{\"a\":1}")));
    assert_eq!(convert_value(DateTime, Integer, json!("2024-01-01T00:00:00.000Z")), None);
}
