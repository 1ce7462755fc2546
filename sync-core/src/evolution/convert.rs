//! Converting a stored value to a column's new type, for columns that declare
//! [`Column::converted`](crate::Column::converted).

use serde_json::Value;

use crate::error::StoreError;
use crate::schema::{canonical_datetime, conform_value, ColumnType};

/// `value`, stored with type `from`, as a value of type `to`; `None` when it does not convert.
///
/// - to a string: strings stay, numbers and booleans become their JSON text (`5`, `2.5`,
///   `true`), JSON becomes its JSON text;
/// - from a string: parsed (`"5"` to an integer, `"2.5"` to a number, `"true"`/`"false"` to a
///   boolean, an RFC 3339 text to a date-time, any JSON text to JSON);
/// - between numbers: an integer becomes a number; a number becomes an integer when it is whole;
/// - between booleans and integers: `false`/`true` and `0`/`1`;
/// - to JSON: any value as it is.
///
/// ```
/// use serde_json::json;
/// use sync_core::backend::convert_value;
/// use sync_core::ColumnType::*;
/// assert_eq!(convert_value(Integer, Real, json!(5)), Some(json!(5.0)));
/// assert_eq!(convert_value(Integer, String, json!(5)), Some(json!("5")));
/// assert_eq!(convert_value(String, Integer, json!("12")), Some(json!(12)));
/// assert_eq!(convert_value(String, Integer, json!("twelve")), None);
/// assert_eq!(convert_value(Real, Integer, json!(2.5)), None);
/// ```
pub fn convert_value(from: ColumnType, to: ColumnType, value: Value) -> Option<Value> {
    if value.is_null() {
        return Some(Value::Null);
    }
    let parsed = match (from, to, value) {
        (_, ColumnType::Json, v) => v,
        (_, ColumnType::String, Value::String(s)) => Value::String(s),
        (_, ColumnType::String, v) => Value::String(v.to_string()),
        (ColumnType::String, ColumnType::Integer, Value::String(s)) => Value::from(s.trim().parse::<i64>().ok()?),
        (ColumnType::String, ColumnType::Real, Value::String(s)) => {
            Value::from(s.trim().parse::<f64>().ok().filter(|f| f.is_finite())?)
        }
        (ColumnType::String, ColumnType::Bool, Value::String(s)) => match s.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return None,
        },
        (ColumnType::String, ColumnType::DateTime, Value::String(s)) => Value::String(canonical_datetime(&s)?),
        (ColumnType::Bool, ColumnType::Integer, Value::Bool(b)) => Value::from(i64::from(b)),
        (ColumnType::Bool | ColumnType::Integer | ColumnType::Real, _, v) => v,
        (ColumnType::Json, _, v) => v,
        (ColumnType::DateTime | ColumnType::String, _, _) => return None,
    };
    // The lenient rules of server rows: 0/1 as booleans, whole numbers as integers.
    conform_value("", to, parsed, false).ok()
}

/// The error of a stored value that does not convert: names the table, the column, the row and
/// the value, and the way out.
pub fn conversion_error(
    table: &str,
    column: &str,
    id: &str,
    from: ColumnType,
    to: ColumnType,
    value: &Value,
) -> StoreError {
    let shown = crate::record::truncate_for_message(&value.to_string());
    StoreError::IncompatibleSchema {
        table: table.to_owned(),
        message: format!(
            "column {column:?} converts from {} to {}, but row {id:?} holds {shown}, which does not convert; \
             register a migration step (SyncContextBuilder::migration) that rewrites those values first",
            from.name(),
            to.name()
        ),
    }
}
