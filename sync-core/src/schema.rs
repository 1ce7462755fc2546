//! [`TableSchema`]: the columns of a synced table, and how records are checked against them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{RecordError, SchemaError};
use crate::field_order::{fields_iterate_sorted, NameOrder};
use crate::record::{json_type_name, Record};
use crate::value_check::ValueChecks;

/// The protocol's system column names (ZUMO-API-VERSION 2.0.0).
pub mod system {
    /// The item id (string).
    pub const ID: &str = "id";
    /// Set by the server when the item is first stored.
    pub const CREATED_AT: &str = "createdAt";
    /// Set by the server on every write; the key of incremental pull.
    pub const UPDATED_AT: &str = "updatedAt";
    /// Opaque concurrency token; sent back as `If-Match`.
    pub const VERSION: &str = "version";
    /// Soft-delete flag.
    pub const DELETED: &str = "deleted";
    /// All system columns, `id` first.
    pub const ALL: [&str; 5] = [ID, CREATED_AT, UPDATED_AT, VERSION, DELETED];
    /// The columns the server owns and a client never sends (`version` travels as `If-Match`).
    pub const SERVER_OWNED: [&str; 4] = [CREATED_AT, UPDATED_AT, VERSION, DELETED];
}

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    /// UTF-8 text (JSON string).
    String,
    /// JSON `true`/`false`.
    Bool,
    /// A signed 64-bit integer. Servers written in JavaScript (the Node server) hold numbers as
    /// doubles, so only integers within ±2^53 (±9,007,199,254,740,992) survive them exactly; a
    /// push whose answer comes back rounded is reported (`SyncEvent::ServerChangedValues`) and
    /// the device keeps its own value.
    Integer,
    /// A 64-bit float.
    Real,
    /// A UTC instant; stored as `YYYY-MM-DDTHH:MM:SS.sssZ` (the protocol's millisecond precision).
    DateTime,
    /// Any JSON value, stored as text; only `is_null` can be queried. It goes over the wire as
    /// JSON text (a string column on the server; see [`TableSchema::wire_form`]) and is parsed
    /// back when it comes from the server.
    Json,
}

impl ColumnType {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "a string",
            ColumnType::Bool => "a boolean",
            ColumnType::Integer => "an integer",
            ColumnType::Real => "a number",
            ColumnType::DateTime => "a date-time",
            ColumnType::Json => "JSON",
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column name as it is on the wire.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it may be null (or absent).
    pub nullable: bool,
    /// The value rows that have none get: rows already stored when the column is added (or made
    /// non-null), and server rows that come without it (see [`Column::with_default`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The name the column had before (see [`Column::renamed_from`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Whether stored values of another type are converted when the table is opened (see
    /// [`Column::converted`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub convert: bool,
}

impl Column {
    /// A non-null column.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Column { name: name.into(), ty, nullable: false, default: None, renamed_from: None, convert: false }
    }

    /// A nullable column.
    pub fn nullable(name: impl Into<String>, ty: ColumnType) -> Self {
        Column { name: name.into(), ty, nullable: true, default: None, renamed_from: None, convert: false }
    }
}

/// The columns of a synced table. Every schema holds the five system columns: `id` (string,
/// non-null), `createdAt`, `updatedAt` (nullable date-times), `version` (nullable string) and
/// `deleted` (boolean, defaults to `false`); [`TableSchema::new`] adds the ones not declared.
///
/// ```
/// use sync_core::{Column, ColumnType, TableSchema};
/// let schema = TableSchema::new("TodoItem", vec![
///     Column::new("text", ColumnType::String),
///     Column::new("complete", ColumnType::Bool),
/// ]).unwrap();
/// assert_eq!(schema.columns().len(), 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    name: String,
    columns: Vec<Column>,
    /// The name the table had before (see [`TableSchema::renamed_from`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) renamed_from: Option<String>,
    /// Keep the pull cursors when columns are added (see
    /// [`TableSchema::keep_cursors_on_new_columns`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) keep_cursors: bool,
    /// `columns` in name order, the order of a record's fields.
    #[serde(skip)]
    by_name: NameOrder,
    /// Checks of values by the fields' Rust types (derived schemas only; never stored).
    #[serde(skip)]
    pub(crate) checks: ValueChecks,
}

impl TableSchema {
    /// Builds a schema, adding missing system columns and checking every name and system type.
    ///
    /// Names are ASCII letters, digits and `_`, start with a letter or `_`, are at most 128 bytes,
    /// and never start with `__` (reserved for the protocol and the system tables).
    pub fn new(name: impl Into<String>, columns: Vec<Column>) -> Result<Self, SchemaError> {
        let name = name.into();
        validate_name(&name)?;
        let mut all: Vec<Column> = Vec::with_capacity(columns.len() + 5);
        for (sys, ty, nullable) in [
            (system::ID, ColumnType::String, false),
            (system::CREATED_AT, ColumnType::DateTime, true),
            (system::UPDATED_AT, ColumnType::DateTime, true),
            (system::VERSION, ColumnType::String, true),
            (system::DELETED, ColumnType::Bool, false),
        ] {
            match columns.iter().find(|c| c.name == sys) {
                Some(c) if c.ty != ty => {
                    return Err(SchemaError::SystemColumnType { column: sys.to_owned(), expected: ty.name() })
                }
                _ => all.push(if nullable { Column::nullable(sys, ty) } else { Column::new(sys, ty) }),
            }
        }
        for mut c in columns {
            validate_name(&c.name)?;
            if system::ALL.contains(&c.name.as_str()) {
                continue;
            }
            crate::evolution::check_declarations(&mut c)?;
            // SQL databases treat column names case-insensitively, so `Text` and `text` clash.
            if all.iter().any(|a| a.name.eq_ignore_ascii_case(&c.name)) {
                return Err(SchemaError::DuplicateColumn(c.name));
            }
            all.push(c);
        }
        crate::evolution::check_renames(&all)?;
        Ok(TableSchema {
            name,
            columns: all,
            renamed_from: None,
            keep_cursors: false,
            by_name: NameOrder::default(),
            checks: ValueChecks::default(),
        })
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All columns, system columns first.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The columns the app declared (everything but the system columns).
    pub fn user_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| !system::ALL.contains(&c.name.as_str()))
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Checks a record written by the app and returns it in canonical form: every column present
    /// (absent nullable ones as `null`, `deleted` as `false`), date-times normalised. A field the
    /// table does not have is an error.
    pub fn conform_local(&self, record: Record) -> Result<Record, RecordError> {
        self.conform(record, true)
    }

    /// Like [`conform_local`](Self::conform_local) for a row from the server: fields the table does
    /// not have are dropped (servers may hold more columns than this client knows), and integer
    /// `0`/`1` are accepted for booleans.
    pub fn conform_remote(&self, record: Record) -> Result<Record, RecordError> {
        self.conform(record, false)
    }

    /// The body to send for an insert or update of `record`: the server-owned columns removed,
    /// and every JSON-valued column as JSON text (`{"a":[1]}` goes as the string
    /// `"{\"a\":[1]}"`). Table servers store columns as SQL scalars: the Node server's string
    /// column stores an object as `"[object Object]"`, so JSON travels as text, and
    /// [`conform_remote`](Self::conform_remote) parses it back.
    pub fn wire_form(&self, record: &Record) -> Record {
        let mut out = crate::remote::strip_server_columns(record);
        for col in self.columns.iter().filter(|c| c.ty == ColumnType::Json) {
            if let Some(v) = out.get(&col.name).filter(|v| !v.is_null()) {
                let text = Value::String(v.to_string());
                // Only non-id columns are JSON, so setting cannot fail.
                let _ = out.set(col.name.clone(), text);
            }
        }
        out
    }

    /// Whether `record` is already canonical: exactly the table's columns, each of its type in
    /// canonical form (what [`conform_local`](Self::conform_local) would return unchanged). Lets
    /// stores skip a copy on the hot path; any doubt answers `false`.
    pub fn is_conformed(&self, record: &Record) -> bool {
        let map = record.as_map();
        if map.len() != self.columns.len() {
            return false;
        }
        let columns_canonical = if fields_iterate_sorted() {
            // One pass over fields and columns together, both in name order: no lookups.
            map.iter()
                .zip(self.columns_by_name())
                .all(|((key, value), col)| *key == col.name && is_canonical(col, value))
        } else {
            self.columns.iter().all(|col| map.get(&col.name).is_some_and(|value| is_canonical(col, value)))
        };
        columns_canonical && self.checks.pass(map)
    }

    /// The columns sorted by name: the order in which a record's fields iterate when
    /// `serde_json` keeps maps sorted (its default; see `field_order`).
    pub(crate) fn columns_by_name(&self) -> impl Iterator<Item = &Column> + Clone {
        self.by_name.of(&self.columns)
    }

    /// For each column in name order, its position in [`columns`](Self::columns): lets a store
    /// walk a record's fields once and place each value where its statement wants it. `None`
    /// when fields do not iterate in name order (serde_json's `preserve_order` is on); then
    /// look fields up by name.
    ///
    /// ```
    /// use sync_core::{Column, ColumnType, Record, TableSchema};
    /// let schema = TableSchema::new("T", vec![Column::new("b", ColumnType::String), Column::new("a", ColumnType::Bool)]).unwrap();
    /// let names: Vec<&str> = schema.columns().iter().map(|c| c.name.as_str()).collect();
    /// if let Some(order) = schema.positions_by_name() {
    ///     let sorted: Vec<&str> = order.iter().map(|&i| names[i]).collect();
    ///     assert_eq!(sorted, ["a", "b", "createdAt", "deleted", "id", "updatedAt", "version"]);
    /// }
    /// ```
    pub fn positions_by_name(&self) -> Option<&[usize]> {
        fields_iterate_sorted().then(|| self.by_name.positions(&self.columns))
    }

    fn conform(&self, record: Record, strict: bool) -> Result<Record, RecordError> {
        // No separate "already canonical?" pass: conforming in place leaves a canonical value as
        // it is, so one pass does both.
        let mut map = record.into_map();
        let unknown_column =
            |column: &String| RecordError::UnknownColumn { table: self.name.clone(), column: column.clone() };
        // In place: a pulled row already has (nearly) every column, so its keys and most of its
        // values are kept as they are, not copied into a new map.
        let mut missing: Vec<&Column> = Vec::new();
        let unknown;
        if fields_iterate_sorted() {
            // Fields and columns in step, both in name order: one comparison per field.
            let mut columns = self.columns_by_name().peekable();
            let mut extra = false;
            for (key, slot) in map.iter_mut() {
                while let Some(col) = columns.next_if(|c| c.name < *key) {
                    missing.push(col);
                }
                match columns.next_if(|c| c.name == *key) {
                    Some(col) => conform_slot(col, slot, strict)?,
                    None if strict => return Err(unknown_column(key)),
                    None => extra = true,
                }
            }
            missing.extend(columns);
            unknown = extra;
        } else {
            if let Some(unknown) = map.keys().find(|k| strict && self.column(k).is_none()) {
                return Err(unknown_column(unknown));
            }
            for col in &self.columns {
                match map.get_mut(&col.name) {
                    Some(slot) => conform_slot(col, slot, strict)?,
                    None => missing.push(col),
                }
            }
            unknown = map.len() + missing.len() > self.columns.len();
        }
        for col in missing {
            let value = match col.name == system::DELETED {
                true => Value::Bool(false),
                false if col.nullable => Value::Null,
                false => return Err(RecordError::NullValue { column: col.name.clone() }),
            };
            map.insert(col.name.clone(), value);
        }
        if unknown {
            map.retain(|k, _| self.column(k).is_some());
        }
        self.checks.run(&map)?;
        // The id was valid and a string column keeps its string as it is.
        Ok(Record::from_checked_map(map))
    }
}

/// Whether a present value of `col` is in canonical form (see [`TableSchema::is_conformed`]).
fn is_canonical(col: &Column, value: &Value) -> bool {
    match value {
        Value::Null => col.nullable && col.name != system::DELETED,
        v => match col.ty {
            ColumnType::String => v.is_string(),
            ColumnType::Bool => v.is_boolean(),
            ColumnType::Integer => v.is_i64(),
            ColumnType::Real => v.is_f64(),
            ColumnType::DateTime => v.as_str().is_some_and(is_canonical_datetime),
            ColumnType::Json => true,
        },
    }
}

/// Replaces one present value of `col` by its canonical form.
pub(crate) fn conform_slot(col: &Column, slot: &mut Value, strict: bool) -> Result<(), RecordError> {
    *slot = match std::mem::take(slot) {
        Value::Null if col.name == system::DELETED => Value::Bool(false),
        // A server row written by a client that does not know the column yet.
        Value::Null if !strict && col.default.is_some() => col.default.clone().unwrap_or(Value::Null),
        Value::Null if col.nullable => Value::Null,
        Value::Null => return Err(RecordError::NullValue { column: col.name.clone() }),
        v => conform_value(&col.name, col.ty, v, strict)?,
    };
    Ok(())
}

/// Checks one non-null value against a column type and returns its canonical form.
pub(crate) fn conform_value(column: &str, ty: ColumnType, v: Value, strict: bool) -> Result<Value, RecordError> {
    let wrong = |v: &Value| RecordError::WrongType {
        column: column.to_owned(),
        expected: match ty {
            ColumnType::Integer => "an integer in the i64 range",
            ColumnType::Real => "a finite number",
            other => other.name(),
        },
        // A number says what it is (2.5, 9223372036854775808), not just "number".
        found: match v {
            Value::Number(n) => n.to_string(),
            other => json_type_name(other).to_owned(),
        },
    };
    match ty {
        ColumnType::String if v.is_string() => Ok(v),
        ColumnType::Bool if v.is_boolean() => Ok(v),
        ColumnType::Bool if !strict && (v == 0 || v == 1) => Ok(Value::Bool(v == 1)),
        ColumnType::Integer if v.is_i64() => Ok(v),
        // Servers on JavaScript send whole numbers as floats at times (e.g. 5.0).
        ColumnType::Integer => match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::from(f as i64)),
            _ => Err(wrong(&v)),
        },
        // One representation per value, whatever the JSON spelling (5 and 5.0), so every store
        // reads back the same record.
        ColumnType::Real => match v.as_f64().and_then(serde_json::Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(wrong(&v)),
        },
        ColumnType::DateTime => match &v {
            Value::String(s) if is_canonical_datetime(s) => Ok(v),
            Value::String(s) => canonical_datetime(s).map(Value::String).ok_or_else(|| RecordError::WrongType {
                column: column.to_owned(),
                expected: ty.name(),
                found: format!("the string {:?}", crate::record::truncate_for_message(s)),
            }),
            _ => Err(wrong(&v)),
        },
        // JSON goes over the wire as JSON text (see `wire_form`); a server row's text is parsed
        // back. Text that is not JSON (written by another client) stays the string it is.
        ColumnType::Json => match v {
            Value::String(text) if !strict => Ok(serde_json::from_str(&text).unwrap_or(Value::String(text))),
            v => Ok(v),
        },
        _ => Err(wrong(&v)),
    }
}

/// Parses an RFC 3339 date-time and formats it as UTC with milliseconds (`2024-01-02T03:04:05.678Z`),
/// the protocol's precision. Fixed width keeps text order equal to time order.
///
/// ```
/// assert_eq!(sync_core::backend::canonical_datetime("2024-01-02T04:04:05+01:00").as_deref(), Some("2024-01-02T03:04:05.000Z"));
/// assert_eq!(sync_core::backend::canonical_datetime("yesterday"), None);
/// ```
pub fn canonical_datetime(s: &str) -> Option<String> {
    if is_canonical_datetime(s) {
        return Some(s.to_owned());
    }
    let parsed = DateTime::parse_from_rfc3339(s).ok()?;
    Some(format_datetime(parsed.with_timezone(&Utc)))
}

/// Whether `s` is already in the canonical form (`2024-01-02T03:04:05.678Z`), without parsing
/// it into a date: the fixed shape, and fields in range (the day within its month). Pulled
/// rows carry two or more date-times each, nearly always canonical, so this is the hot path.
/// Leap seconds (`:60`) are left to the full parse.
///
/// ```
/// use sync_core::backend::is_canonical_datetime;
/// assert!(is_canonical_datetime("2024-02-29T23:59:59.999Z"));
/// assert!(!is_canonical_datetime("2023-02-29T00:00:00.000Z"), "no 29 February in 2023");
/// assert!(!is_canonical_datetime("2024-01-02T03:04:05.678+00:00"));
/// ```
pub fn is_canonical_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 24 || b[23] != b'Z' {
        return false;
    }
    let shape_ok = b.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        19 => c == b'.',
        23 => true,
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return false;
    }
    let num = |from: usize, to: usize| b[from..to].iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    (1..=days_in_month).contains(&day) && num(11, 13) < 24 && num(14, 16) < 60 && num(17, 19) < 60
}

/// Formats a UTC instant in the canonical form (see [`canonical_datetime`]).
pub fn format_datetime(dt: DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn validate_name(name: &str) -> Result<(), SchemaError> {
    let fail = |reason| Err(SchemaError::InvalidName { name: name.to_owned(), reason });
    let mut chars = name.chars();
    match chars.next() {
        None => return fail("names cannot be empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => return fail("names start with a letter or '_'"),
        _ => {}
    }
    if name.len() > 128 {
        return fail("names are at most 128 bytes");
    }
    if name.starts_with("__") {
        return fail("names starting with '__' are reserved for the protocol");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return fail("names hold only ASCII letters, digits and '_'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn todo() -> TableSchema {
        TableSchema::new(
            "TodoItem",
            vec![
                Column::new("text", ColumnType::String),
                Column::new("complete", ColumnType::Bool),
                Column::nullable("due", ColumnType::DateTime),
                Column::nullable("n", ColumnType::Integer),
            ],
        )
        .unwrap()
    }

    #[test]
    fn names_are_checked() {
        assert!(TableSchema::new("__ops", vec![]).is_err());
        assert!(TableSchema::new("a b", vec![]).is_err());
        assert!(TableSchema::new("T", vec![Column::new("__x", ColumnType::String)]).is_err());
        assert!(TableSchema::new("T", vec![Column::new("version", ColumnType::Integer)]).is_err());
        assert!(matches!(
            TableSchema::new("T", vec![Column::new("a", ColumnType::String), Column::new("a", ColumnType::Bool)]),
            Err(SchemaError::DuplicateColumn(_))
        ));
        assert!(matches!(
            TableSchema::new("T", vec![Column::new("a", ColumnType::String), Column::new("A", ColumnType::Bool)]),
            Err(SchemaError::DuplicateColumn(_))
        ));
    }

    #[test]
    fn local_records_are_checked_and_canonical() {
        let s = todo();
        let r =
            Record::from_json(json!({"id": "1", "text": "a", "complete": false, "due": "2024-01-01T01:00:00+01:00"}))
                .unwrap();
        assert!(!s.is_conformed(&r));
        let c = s.conform_local(r).unwrap();
        assert!(s.is_conformed(&c));
        assert_eq!(c.get("due"), Some(&json!("2024-01-01T00:00:00.000Z")));
        assert_eq!(c.get("deleted"), Some(&json!(false)));
        assert_eq!(c.get("version"), Some(&Value::Null));
        let wrong = Record::from_json(json!({"id": "1", "text": 5, "complete": false})).unwrap();
        assert!(matches!(s.conform_local(wrong), Err(RecordError::WrongType { .. })));
        let unknown = Record::from_json(json!({"id": "1", "text": "a", "complete": true, "zzz": 1})).unwrap();
        assert!(matches!(s.conform_local(unknown), Err(RecordError::UnknownColumn { .. })));
        let missing = Record::from_json(json!({"id": "1", "complete": true})).unwrap();
        assert!(matches!(s.conform_local(missing), Err(RecordError::NullValue { .. })));
    }

    #[test]
    fn remote_records_are_lenient_about_extra_columns() {
        let s = todo();
        let r = Record::from_json(json!({"id": "1", "text": "a", "complete": 1, "extra": [1], "n": 5.0})).unwrap();
        let c = s.conform_remote(r).unwrap();
        assert_eq!(c.get("complete"), Some(&json!(true)));
        assert_eq!(c.get("n"), Some(&json!(5)));
        assert!(c.get("extra").is_none());
    }

    #[test]
    fn canonical_datetimes_have_real_days() {
        for ok in [
            "2000-02-29T00:00:00.000Z",
            "2024-04-30T23:59:59.999Z",
            "0000-01-01T00:00:00.000Z",
            "9999-12-31T00:00:00.000Z",
        ] {
            assert!(is_canonical_datetime(ok), "{ok}");
        }
        for bad in [
            "1900-02-29T00:00:00.000Z",
            "2024-04-31T00:00:00.000Z",
            "2024-13-01T00:00:00.000Z",
            "2024-00-10T00:00:00.000Z",
            "2024-01-00T00:00:00.000Z",
            "2024-01-01T24:00:00.000Z",
            "2024-01-01T00:60:00.000Z",
        ] {
            assert!(!is_canonical_datetime(bad), "{bad}");
        }
    }

    /// Fields that the table lacks before, between and after its columns, and columns the row
    /// lacks, in every position of the one-pass walk: the same result as a lookup per column.
    #[test]
    fn conforming_walks_fields_and_columns_in_step() {
        let s = todo();
        let row = json!({"aaa": 1, "complete": 0, "createdAt": "2024-01-02T03:04:05Z", "d": "x", "id": "1",
                         "m": null, "text": "t", "updatedAt": "2024-01-02T03:04:05.000Z", "zzz": true});
        let c = s.conform_remote(Record::from_json(row).unwrap()).unwrap();
        let expected = json!({"complete": false, "createdAt": "2024-01-02T03:04:05.000Z", "deleted": false, "due": null,
                              "id": "1", "n": null, "text": "t", "updatedAt": "2024-01-02T03:04:05.000Z", "version": null});
        assert_eq!(Value::from(c.clone()), expected);
        assert!(s.is_conformed(&c));
        let unknown = Record::from_json(json!({"id": "1", "text": "t", "complete": true, "m": 1})).unwrap();
        assert!(matches!(s.conform_local(unknown), Err(RecordError::UnknownColumn { column, .. }) if column == "m"));
        let local =
            s.conform_local(Record::from_json(json!({"id": "1", "text": "t", "complete": true})).unwrap()).unwrap();
        assert_eq!(local.as_map().len(), s.columns().len());
        assert!(s.is_conformed(&local));
        let mut not_canonical = local.clone();
        not_canonical.set("due", json!("2024-01-02T04:04:05+01:00")).unwrap();
        assert!(!s.is_conformed(&not_canonical));
        assert_eq!(s.conform_local(not_canonical).unwrap().get("due"), Some(&json!("2024-01-02T03:04:05.000Z")));
    }
}
