//! Unit tests of pulled pages: where values land, what stays in the body, the page shapes, and
//! conforming. The differential test against records is in backend-azure-rest, beside the
//! record parser (`response/differential.rs`).

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::error::RemoteError;
use crate::schema::{Column, ColumnType};

fn schema() -> Arc<TableSchema> {
    Arc::new(
        TableSchema::new(
            "T",
            vec![
                Column::new("text", ColumnType::String),
                Column::new("done", ColumnType::Bool),
                Column::nullable("due", ColumnType::DateTime),
                Column::nullable("meta", ColumnType::Json),
            ],
        )
        .unwrap(),
    )
}

fn at(schema: &TableSchema, name: &str) -> usize {
    schema.columns().iter().position(|c| c.name == name).unwrap()
}

fn parse(body: &str) -> Result<RowPage, RemoteError> {
    RowPage::parse_json(&schema(), body.as_bytes().to_vec())
}

#[test]
fn strings_without_escapes_stay_in_the_body_and_escaped_ones_are_copied() {
    let page = parse(r#"[{"id":"a","text":"plain"},{"id":"b","text":"line\nbreak"}]"#).unwrap();
    let text = at(page.schema(), "text");
    assert_eq!(page.field(0, text), Field::Text("plain"));
    assert_eq!(page.field(1, text), Field::Json(&Value::String("line\nbreak".into())));
    assert_eq!((page.id(0), page.id(1)), ("a", "b"));
}

#[test]
fn unknown_fields_are_skipped_and_a_repeated_key_keeps_its_last_value() {
    let page = parse(r#"[{"id":"a","zzz":{"deep":[1,2,{"x":null}]},"text":"one","text":"two"}]"#).unwrap();
    let record = page.record(0).unwrap();
    assert_eq!(record.as_map().len(), 2, "{record:?}");
    assert_eq!(record.get("text"), Some(&json!("two")));
}

#[test]
fn the_results_object_gives_rows_and_count() {
    let page = parse(r#"{"count": 7, "results": [{"id":"a"}]}"#).unwrap();
    assert_eq!((page.len(), page.total), (1, Some(7)));
    // A count that is not a non-negative integer only feeds progress: left out.
    assert_eq!(parse(r#"{"results": [], "count": -1}"#).unwrap().total, None);
    assert_eq!(parse(r#"{"results": [], "count": 1.5}"#).unwrap().total, None);
    // A key given twice counts as its last value.
    let twice = parse(r#"{"results": [{"id":"a"},{"id":"b"}], "results": [{"id":"c"}]}"#).unwrap();
    assert_eq!((twice.len(), twice.id(0)), (1, "c"));
}

#[test]
fn bodies_that_are_not_pages_are_protocol_errors() {
    for body in [
        "",
        "not json",
        "[{\"id\":\"a\"}] trailing",
        "{\"results\": 5}",
        "{\"count\": 5}",
        "\"text\"",
        "5",
        "null",
        "[5]",
        "[{\"text\":\"no id\"}]",
        "[{\"id\":5}]",
        "[{\"id\":\"a/b\"}]",
        "[{\"id\":\"a\",\"updatedAt\":5}]",
        "[{\"id\":\"a\",\"updatedAt\":\"yesterday\"}]",
        "[{\"id\":\"a\",\"version\":[1]}]",
        "[{\"id\":\"a\",\"deleted\":2}]",
        "[{\"id\":\"a\",\"deleted\":\"true\"}]",
    ] {
        let e = parse(body).map(|p| p.len()).unwrap_err();
        assert!(matches!(e, RemoteError::Protocol { .. }), "{body}: {e:?}");
    }
    let e = RowPage::parse_json(&schema(), vec![b'[', 0xff, b']']).unwrap_err();
    assert!(e.to_string().contains("not JSON"), "{e}");
}

#[test]
fn deleted_as_a_number_becomes_a_boolean() {
    let page = parse(r#"[{"id":"a","deleted":1},{"id":"b","deleted":0},{"id":"c"}]"#).unwrap();
    assert!(page.is_deleted(0));
    assert!(!page.is_deleted(1));
    assert!(!page.is_deleted(2));
}

#[test]
fn conforming_matches_conform_remote_and_names_rejected_rows() {
    let body = r#"[
        {"id":"a","text":"t","done":1,"due":"2024-01-02T04:04:05+01:00","meta":"{\"k\":[1]}","updatedAt":"2024-01-01T00:00:00Z"},
        {"id":"b","text":5,"done":true,"updatedAt":"2024-01-01T00:00:01Z"},
        {"id":"c","done":false,"meta":"not json"}
    ]"#;
    let mut page = parse(body).unwrap();
    let misfits = page.conform();
    let records: Vec<Value> = serde_json::from_str(body).unwrap();
    let expected: Vec<_> =
        records.into_iter().map(|v| page.schema().conform_remote(Record::from_json(v).unwrap())).collect();
    assert_eq!(misfits.len(), 2, "{misfits:?}");
    assert_eq!(misfits[0].row, 1);
    assert_eq!(Err(misfits[0].error.clone()), expected[1]);
    // Reported with `updatedAt` as sent, not as conformed.
    assert_eq!(misfits[0].updated_at.as_deref(), Some("2024-01-01T00:00:01Z"));
    assert_eq!((misfits[1].row, Err(misfits[1].error.clone())), (2, expected[2].clone()));
    assert_eq!(Ok(page.record(0).unwrap()), expected[0]);
    let due = at(page.schema(), "due");
    assert_eq!(page.field(0, due).as_str(), Some("2024-01-02T03:04:05.000Z"));
}

#[test]
fn a_page_of_records_conforms_like_a_parsed_one() {
    let body = r#"[{"id":"a","text":"t","done":0,"extra":1},{"id":"b","done":"no"}]"#;
    let mut parsed = parse(body).unwrap();
    let items = serde_json::from_str::<Vec<Value>>(body).unwrap().into_iter().map(|v| Record::from_json(v).unwrap());
    let mut built = RowPage::from_page(&schema(), Page { items: items.collect(), has_next_link: true, total: Some(2) });
    assert!(built.has_next_link);
    assert_eq!(parsed.conform(), built.conform());
    assert_eq!(parsed.record(0).unwrap(), built.record(0).unwrap());
}

#[test]
fn retain_rows_keeps_the_marked_rows_in_order() {
    let mut page = parse(r#"[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"}]"#).unwrap();
    page.retain_rows(&[false, true, false, true]);
    assert_eq!((page.len(), page.id(0), page.id(1)), (2, "b", "d"));
    page.retain_rows(&[]);
    assert_eq!(page.len(), 2, "an empty mask keeps every row");
}
