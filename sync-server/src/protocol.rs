//! The protocol's rules for request bodies and headers: reserved properties, ids, column values
//! by type, and `If-Match`.

use serde_json::{Map, Value};
use sync_core::backend::validate_id;
use sync_core::{Column, ColumnType};

use crate::error::{short, Error};
use crate::storage::{ColumnValue, Precondition, SqlValue};
use crate::table::{valid_column_name, TableDef};

/// Properties a client may never send (the Node server's list, matched case-insensitively).
const RESERVED: [&str; 3] = ["createdat", "updatedat", "deleted"];

/// Parses a request body: JSON, and an object.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::bad_request(format!("the request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Error::bad_request(format!(
            "the request body must be a JSON object, not {}",
            sync_core::backend::json_type_name(&other)
        ))),
    }
}

/// Checks an id from a URL or a body.
pub(crate) fn check_id(id: &str) -> Result<(), Error> {
    validate_id(id).map_err(|e| Error::bad_request(e.to_string()))
}

/// The id of an insert: the body's, or a new UUID when it has none (absent, `null` or `""`).
pub(crate) fn insert_id(body: &Map<String, Value>) -> Result<String, Error> {
    match body.get("id") {
        None | Some(Value::Null) => Ok(uuid::Uuid::new_v4().to_string()),
        Some(Value::String(s)) if s.is_empty() => Ok(uuid::Uuid::new_v4().to_string()),
        Some(Value::String(s)) => {
            check_id(s)?;
            Ok(s.clone())
        }
        Some(other) => Err(Error::bad_request(format!(
            "the id must be a string, not {}",
            sync_core::backend::json_type_name(other)
        ))),
    }
}

/// A PATCH body's id must be absent or equal the URL's.
pub(crate) fn check_body_id(body: &Map<String, Value>, url_id: &str) -> Result<(), Error> {
    match body.get("id") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == url_id => Ok(()),
        Some(_) => Err(Error::bad_request("The item ID and querystring ID did not match")),
    }
}

/// `version` of a PATCH body, used as the precondition when there is no `If-Match`.
pub(crate) fn body_version(body: &Map<String, Value>) -> Result<Option<String>, Error> {
    match body.get("version") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::bad_request("version must be a string")),
    }
}

/// The user column values of a body. `id` and `version` are handled by the caller; reserved
/// properties are a 400. Fixed tables: every property must be a declared column of the right
/// type. Dynamic tables: unknown properties become new columns typed by their JSON value.
pub(crate) fn column_values(
    table: &TableDef,
    columns: &[Column],
    body: &Map<String, Value>,
    action: &str,
) -> Result<Vec<ColumnValue>, Error> {
    if let Some(key) = body.keys().find(|k| RESERVED.contains(&k.to_ascii_lowercase().as_str())) {
        return Err(Error::bad_request(format!(
            "Cannot {action} item with property '{}' as it is reserved",
            short(key)
        )));
    }
    let mut out = Vec::new();
    for (key, value) in body {
        if key == "id" || key == "version" {
            continue;
        }
        let column = columns.iter().find(|c| &c.name == key);
        let (ty, nullable) = match column {
            Some(c) => (c.ty, c.nullable || table.dynamic),
            None if table.dynamic => {
                valid_column_name(key).map_err(|e| Error::bad_request(format!("'{}': {e}", short(key))))?;
                if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("version") {
                    return Err(Error::bad_request(format!("'{}' clashes with a system column", short(key))));
                }
                (infer_type(value), true)
            }
            None => return Err(Error::bad_request(format!("the table {} has no column '{}'", table.name, short(key)))),
        };
        let value = sql_value(key, ty, nullable, value)?;
        out.push(ColumnValue { name: key.clone(), ty, value });
    }
    Ok(out)
}

/// The type a dynamic column gets from its first value.
fn infer_type(value: &Value) -> ColumnType {
    match value {
        Value::Bool(_) => ColumnType::Bool,
        Value::Number(_) => ColumnType::Real,
        Value::String(_) | Value::Null => ColumnType::String,
        Value::Array(_) | Value::Object(_) => ColumnType::Json,
    }
}

/// Checks a JSON value against a column type and converts it for storage.
fn sql_value(column: &str, ty: ColumnType, nullable: bool, value: &Value) -> Result<SqlValue, Error> {
    let wrong = || {
        Error::bad_request(format!(
            "the column '{column}' holds {}, not {}",
            ty.name(),
            sync_core::backend::json_type_name(value)
        ))
    };
    Ok(match (ty, value) {
        (_, Value::Null) if nullable => SqlValue::Null,
        (_, Value::Null) => return Err(Error::bad_request(format!("the column '{column}' cannot be null"))),
        (ColumnType::String, Value::String(s)) => SqlValue::Text(s.clone()),
        (ColumnType::Bool, Value::Bool(b)) => SqlValue::Bool(*b),
        // The Node server stores 0/1 for booleans and accepts them on input.
        (ColumnType::Bool, Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            SqlValue::Bool(n.as_i64() == Some(1))
        }
        (ColumnType::Integer, Value::Number(n)) => match n.as_i64() {
            Some(i) => SqlValue::Int(i),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => SqlValue::Int(f as i64),
                _ => return Err(wrong()),
            },
        },
        (ColumnType::Real, Value::Number(n)) => SqlValue::Real(n.as_f64().ok_or_else(wrong)?),
        (ColumnType::DateTime, Value::String(s)) => match sync_core::backend::canonical_datetime(s) {
            Some(c) => SqlValue::Text(c),
            None => {
                return Err(Error::bad_request(format!(
                    "the column '{column}' holds a date-time; {:?} is not one (send YYYY-MM-DDTHH:MM:SS.sssZ)",
                    short(s)
                )))
            }
        },
        (ColumnType::Json, v) => SqlValue::Text(v.to_string()),
        _ => return Err(wrong()),
    })
}

/// The owner column's value for an insert into a `per_user` table.
pub(crate) fn owner_value(user: &str) -> ColumnValue {
    ColumnValue { name: crate::table::OWNER.to_owned(), ty: ColumnType::String, value: SqlValue::Text(user.to_owned()) }
}

/// The precondition of a PATCH/DELETE/undelete: `If-Match` first, else (PATCH) the body's version.
pub(crate) fn precondition(if_match: Option<&str>, body_version: Option<String>) -> Result<Precondition, Error> {
    if let Some(header) = if_match {
        let tags = parse_if_match(header)?;
        return Ok(Precondition::IfMatch(tags));
    }
    Ok(body_version.map_or(Precondition::None, Precondition::Body))
}

/// `If-Match`: `*`, or a comma-separated list of entity tags. Strong tags `"v"` (inner `\"`
/// unescaped, as the clients escape them) match version `v`; weak tags `W/"v"` never match (RFC
/// 9110 compares `If-Match` strongly); a bare token is taken literally.
fn parse_if_match(header: &str) -> Result<Vec<String>, Error> {
    let header = header.trim();
    if header == "*" {
        return Ok(vec!["*".to_owned()]);
    }
    let mut tags = Vec::new();
    let mut rest = header;
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let weak = rest.starts_with("W/");
        let body = if weak { &rest[2..] } else { rest };
        if let Some(quoted) = body.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let Some(end) = end else {
                return Err(Error::bad_request("If-Match: an entity tag is missing its closing quote"));
            };
            if !weak {
                tags.push(value);
            }
            rest = &quoted[end..];
        } else {
            let end = body.find(',').unwrap_or(body.len());
            if !weak {
                tags.push(body[..end].trim().to_owned());
            }
            rest = &body[end..];
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn if_match_forms() {
        assert_eq!(parse_if_match("\"MQ==\"").unwrap(), vec!["MQ=="]);
        assert_eq!(parse_if_match("\"a\\\"b\"").unwrap(), vec!["a\"b"]);
        assert_eq!(parse_if_match("*").unwrap(), vec!["*"]);
        assert_eq!(parse_if_match("W/\"x\"").unwrap(), Vec::<String>::new());
        assert_eq!(parse_if_match("\"a\", \"b\"").unwrap(), vec!["a", "b"]);
        assert_eq!(parse_if_match("raw").unwrap(), vec!["raw"]);
        assert!(parse_if_match("\"open").is_err());
    }

    #[test]
    fn bodies() {
        assert!(parse_body(b"{").is_err());
        assert!(parse_body(b"[1]").unwrap_err().message().contains("JSON object"));
        let body = parse_body(br#"{"id":5}"#).unwrap();
        assert!(insert_id(&body).is_err());
        let body = parse_body(br#"{"id":"a/b"}"#).unwrap();
        assert!(insert_id(&body).is_err());
        let body = parse_body(br#"{"id":""}"#).unwrap();
        assert_eq!(insert_id(&body).unwrap().len(), 36);
    }

    #[test]
    fn values_by_type() {
        let table = TableDef {
            name: "T".into(),
            columns: vec![
                Column::nullable("s", ColumnType::String),
                Column::new("b", ColumnType::Bool),
                Column::nullable("i", ColumnType::Integer),
                Column::nullable("d", ColumnType::DateTime),
            ],
            dynamic: false,
            options: Default::default(),
        };
        let ok = |v: Value| column_values(&table, &table.columns, v.as_object().unwrap(), "insert");
        assert!(ok(json!({"s": "x", "b": true, "i": 5.0, "d": "2024-01-01T01:00:00+01:00"})).is_ok());
        let d = ok(json!({"d": "2024-01-01T01:00:00+01:00"})).unwrap();
        assert_eq!(d[0].value, SqlValue::Text("2024-01-01T00:00:00.000Z".into()));
        for bad in [
            json!({"s": 1}),
            json!({"b": "yes"}),
            json!({"b": null}),
            json!({"i": 1.5}),
            json!({"d": "soon"}),
            json!({"other": 1}),
            json!({"createdAt": "x"}),
            json!({"Deleted": false}),
        ] {
            assert_eq!(ok(bad.clone()).unwrap_err().status(), 400, "{bad}");
        }
    }
}
