//! Records to typed column values and back, by the table's schema.
//!
//! One SQLite column per field: String and DateTime as TEXT (date-times in the canonical
//! fixed-width form, so text order is time order), Bool as INTEGER 0/1, Integer as INTEGER, Real
//! as REAL, Json as TEXT holding the JSON. Rows are read with SQLite's own type of each value and
//! rebuilt into the canonical record: booleans as `true`/`false`, JSON parsed, integers as
//! integers, reals as floats (a REAL holding 5 reads back as `5.0`).

use serde_json::{Map, Number, Value};
use sync_core::backend::system;
use sync_core::backend::{Field, RecordError, RowPage, StoreError};
use sync_core::{Column, ColumnType, Record, TableSchema};

use crate::error::corrupt;
use crate::statement::{Cell, Param, SqlRow};

/// The values of `record` for every column of `schema`, in schema order.
///
/// Values are checked against the column types (a store never silently stores the wrong thing);
/// an absent or null `deleted` is `false`, like [`TableSchema::conform_local`]; a field the
/// schema does not have is an error rather than being dropped.
pub(crate) fn record_params<'a>(schema: &TableSchema, record: &'a Record) -> Result<Vec<Param<'a>>, StoreError> {
    let mut params = Vec::with_capacity(schema.columns().len());
    push_record_params(schema, record, &mut params)?;
    Ok(params)
}

/// [`record_params`] appended to `params`, so that a many-row statement fills one vector.
pub(crate) fn push_record_params<'a>(
    schema: &TableSchema,
    record: &'a Record,
    params: &mut Vec<Param<'a>>,
) -> Result<(), StoreError> {
    let table = schema.name();
    let columns = schema.columns();
    let map = record.as_map();
    let fail = |e| StoreError::record(table, e);
    if let Some(order) = schema.positions_by_name().filter(|_| map.len() == columns.len()) {
        // The usual record has exactly the columns, and its fields iterate in name order: one
        // pass places each value at its column's position, with no lookups.
        let base = params.len();
        params.resize(base + columns.len(), Param::NullText);
        let mut in_step = true;
        for ((key, value), &i) in map.iter().zip(order) {
            if *key != columns[i].name {
                in_step = false;
                break;
            }
            params[base + i] = value_param(&columns[i], value).map_err(fail)?;
        }
        if in_step {
            return Ok(());
        }
        // A field the table does not have, in place of a column it lacks: the careful path
        // below says which.
        params.truncate(base);
    }
    let mut seen = 0;
    for col in columns {
        let value = map.get(&col.name);
        if value.is_some() {
            seen += 1;
        }
        params.push(value_param(col, value.unwrap_or(&Value::Null)).map_err(fail)?);
    }
    if seen < map.len() {
        if let Some(unknown) = map.keys().find(|k| schema.column(k).is_none()) {
            let e = RecordError::UnknownColumn { table: table.to_owned(), column: unknown.clone() };
            return Err(fail(e));
        }
    }
    Ok(())
}

/// The fields of `row` of a conformed pulled page, appended to `params` in schema order: its
/// strings bound where they are in the page, nothing copied.
pub(crate) fn push_page_params<'a>(
    schema: &TableSchema,
    page: &'a RowPage,
    row: usize,
    params: &mut Vec<Param<'a>>,
) -> Result<(), StoreError> {
    static NULL: Value = Value::Null;
    for (i, col) in schema.columns().iter().enumerate() {
        let param = match page.field(row, i) {
            Field::Text(s) => text_param(col, s),
            Field::Json(v) => value_param(col, v),
            Field::Missing => value_param(col, &NULL),
        };
        params.push(param.map_err(|e| StoreError::record(schema.name(), e))?);
    }
    Ok(())
}

/// A string field's parameter: what [`value_param`] makes of it as a JSON string.
fn text_param<'a>(col: &Column, s: &'a str) -> Result<Param<'a>, RecordError> {
    match col.ty {
        ColumnType::String | ColumnType::DateTime => Ok(Param::text(s)),
        ColumnType::Json => Ok(Param::Text(Value::String(s.to_owned()).to_string().into())),
        ColumnType::Bool | ColumnType::Integer | ColumnType::Real => Err(RecordError::WrongType {
            column: col.name.clone(),
            expected: col.ty.name(),
            found: "string".to_owned(),
        }),
    }
}

pub(crate) fn value_param<'a>(col: &Column, value: &'a Value) -> Result<Param<'a>, RecordError> {
    let wrong = || RecordError::WrongType {
        column: col.name.clone(),
        expected: col.ty.name(),
        found: sync_core::backend::json_type_name(value).to_owned(),
    };
    if value.is_null() {
        return match col.ty {
            ColumnType::Bool if col.name == system::DELETED => Ok(Param::Integer(0)),
            _ if !col.nullable => Err(RecordError::NullValue { column: col.name.clone() }),
            ColumnType::Bool | ColumnType::Integer => Ok(Param::NullInteger),
            ColumnType::Real => Ok(Param::NullReal),
            ColumnType::String | ColumnType::DateTime | ColumnType::Json => Ok(Param::NullText),
        };
    }
    match col.ty {
        ColumnType::String | ColumnType::DateTime => value.as_str().map(Param::text).ok_or_else(wrong),
        ColumnType::Bool => value.as_bool().map(|b| Param::Integer(i64::from(b))).ok_or_else(wrong),
        ColumnType::Integer => value.as_i64().map(Param::Integer).ok_or_else(wrong),
        ColumnType::Real => value.as_f64().map(Param::Real).ok_or_else(wrong),
        ColumnType::Json => Ok(Param::Text(value.to_string().into())),
    }
}

/// Rebuilds a record from a row whose cells are `columns`, in order.
pub(crate) fn read_record<'c>(
    table: &str,
    columns: impl IntoIterator<Item = &'c Column>,
    row: SqlRow,
) -> Result<Record, StoreError> {
    let mut map = Map::new();
    let mut cells = row.0.into_iter();
    for col in columns {
        let cell = cells.next().ok_or_else(|| corrupt(table, "a row has fewer cells than columns"))?;
        map.insert(col.name.clone(), cell_value(table, col, cell)?);
    }
    Record::new(map).map_err(|e| corrupt(table, format!("stored id is invalid: {e}")))
}

/// The id of a row of one text cell (`SELECT "id" …`).
pub(crate) fn read_id(table: &str, row: SqlRow) -> Result<String, StoreError> {
    match row.0.into_iter().next() {
        Some(Cell::Text(id)) => Ok(id),
        Some(other) => Err(corrupt(table, format!("an id holds {}", other.type_name()))),
        None => Err(corrupt(table, "a row of ids has no cell")),
    }
}

pub(crate) fn cell_value(table: &str, col: &Column, cell: Cell) -> Result<Value, StoreError> {
    let bad =
        |cell: &Cell| corrupt(table, format!("column {:?} ({}) holds {}", col.name, col.ty.name(), cell.type_name()));
    Ok(match (col.ty, cell) {
        (_, Cell::Null) => Value::Null,
        (ColumnType::String | ColumnType::DateTime, Cell::Text(s)) => Value::String(s),
        (ColumnType::Bool, Cell::Integer(0)) => Value::Bool(false),
        (ColumnType::Bool, Cell::Integer(1)) => Value::Bool(true),
        (ColumnType::Integer, Cell::Integer(i)) => Value::from(i),
        (ColumnType::Real, Cell::Real(f)) => real(f).ok_or_else(|| bad(&Cell::Real(f)))?,
        (ColumnType::Real, Cell::Integer(i)) => real(i as f64).ok_or_else(|| bad(&Cell::Integer(i)))?,
        (ColumnType::Json, Cell::Text(s)) => serde_json::from_str(&s)
            .map_err(|e| corrupt(table, format!("column {:?} holds text that is not JSON: {e}", col.name)))?,
        (_, cell) => return Err(bad(&cell)),
    })
}

fn real(f: f64) -> Option<Value> {
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> TableSchema {
        TableSchema::new(
            "T",
            vec![
                Column::new("s", ColumnType::String),
                Column::new("b", ColumnType::Bool),
                Column::nullable("i", ColumnType::Integer),
                Column::nullable("r", ColumnType::Real),
                Column::nullable("j", ColumnType::Json),
            ],
        )
        .unwrap()
    }

    #[test]
    fn values_are_checked() {
        let s = schema();
        let ok = Record::from_json(json!({"id": "a", "s": "x", "b": true, "i": 3, "r": 5.0, "j": {"k": [1]}})).unwrap();
        let params = record_params(&s, &ok).unwrap();
        assert_eq!(params.len(), s.columns().len());
        let wrong = Record::from_json(json!({"id": "a", "s": 1, "b": true})).unwrap();
        assert!(matches!(record_params(&s, &wrong), Err(StoreError::Record { .. })));
        let null = Record::from_json(json!({"id": "a", "s": null, "b": true})).unwrap();
        assert!(matches!(
            record_params(&s, &null),
            Err(StoreError::Record { source: RecordError::NullValue { .. }, .. })
        ));
        let extra = Record::from_json(json!({"id": "a", "s": "x", "b": true, "zz": 1})).unwrap();
        assert!(matches!(
            record_params(&s, &extra),
            Err(StoreError::Record { source: RecordError::UnknownColumn { .. }, .. })
        ));
    }

    /// A full record's values land at their columns' positions (the one-pass walk), and a record
    /// with as many fields as columns but one unknown in place of a column is still refused.
    #[test]
    fn values_go_to_their_columns_positions() {
        let s = schema();
        let full = s
            .conform_local(
                Record::from_json(json!({"id": "a", "s": "x", "b": true, "i": 3, "r": 5.5, "j": null})).unwrap(),
            )
            .unwrap();
        let params = record_params(&s, &full).unwrap();
        for (col, param) in s.columns().iter().zip(&params) {
            let expected = value_param(col, full.get(&col.name).unwrap()).unwrap();
            assert_eq!(*param, expected, "column {}", col.name);
        }
        let mut swapped = full.as_map().clone();
        swapped.remove("i");
        swapped.insert("zz".into(), json!(1));
        let swapped = Record::new(swapped).unwrap();
        assert_eq!(swapped.as_map().len(), s.columns().len());
        assert!(matches!(
            record_params(&s, &swapped),
            Err(StoreError::Record { source: RecordError::UnknownColumn { column, .. }, .. }) if column == "zz"
        ));
    }

    #[test]
    fn conformed_records_are_recognised() {
        let s = schema();
        let conform = |v| s.conform_local(Record::from_json(v).unwrap()).unwrap();
        let canonical = conform(json!({"id": "a", "s": "x", "b": true, "i": 3, "r": 5, "j": null}));
        assert!(s.is_conformed(&canonical));
        for not_yet in [
            json!({"id": "a", "s": "x", "b": true}),
            json!({"id": "a", "s": "x", "b": true, "i": 3, "r": 5, "j": null, "createdAt": null, "updatedAt": null,
                   "version": null, "deleted": null}),
            json!({"id": "a", "s": "x", "b": true, "i": 3, "r": 5, "j": null, "createdAt": "2024-01-01T00:00:00Z",
                   "updatedAt": null, "version": null, "deleted": false}),
            json!({"id": "a", "s": "x", "b": true, "i": 3.0, "r": 5.0, "j": null, "createdAt": null, "updatedAt": null,
                   "version": null, "deleted": false}),
        ] {
            assert!(!s.is_conformed(&Record::from_json(not_yet).unwrap()));
        }
    }

    #[test]
    fn cells_become_canonical_json() {
        let s = schema();
        let row = SqlRow(vec![
            Cell::Text("a".into()),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Integer(0),
            Cell::Text("x".into()),
            Cell::Integer(1),
            Cell::Integer(7),
            Cell::Real(5.0),
            Cell::Text("[1,{\"a\":null}]".into()),
        ]);
        let r = read_record("T", s.columns(), row).unwrap();
        assert_eq!(r.get("b"), Some(&json!(true)));
        assert_eq!(r.get("r"), Some(&json!(5.0)));
        assert_eq!(r.get("i"), Some(&json!(7)));
        assert_eq!(r.get("j"), Some(&json!([1, {"a": null}])));
        assert_eq!(r.get("deleted"), Some(&json!(false)));
        let bad = SqlRow(vec![Cell::Text("a".into()), Cell::Null, Cell::Null, Cell::Null, Cell::Integer(7)]);
        assert!(matches!(read_record("T", s.columns(), bad), Err(StoreError::Corrupt { .. })));
    }
}
