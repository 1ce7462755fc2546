//! [`Record`]: one row of a table as a JSON object with a valid `id`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::RecordError;
use crate::schema::system;

/// The longest id the protocol accepts, in bytes (the official clients' limit).
pub const MAX_ID_LEN: usize = 255;

/// One row of a table: a JSON object whose `id` is a valid string id.
///
/// Records are what stores keep and what travels over the wire. Typed entities convert to and from
/// records (see [`SyncEntity`](crate::SyncEntity)). The `id` can only be set through validating
/// calls, so every `Record` has a valid id.
///
/// ```
/// use sync_core::Record;
/// let r = Record::from_json(serde_json::json!({"id": "a1", "text": "milk"})).unwrap();
/// assert_eq!(r.id(), "a1");
/// assert!(Record::from_json(serde_json::json!({"text": "no id"})).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct Record(Map<String, Value>);

impl Record {
    /// A record with only an id.
    pub fn with_id(id: impl Into<String>) -> Result<Self, RecordError> {
        let id = id.into();
        validate_id(&id)?;
        let mut map = Map::new();
        map.insert(system::ID.to_owned(), Value::String(id));
        Ok(Record(map))
    }

    /// Wraps a JSON object; fails if `id` is missing, not a string, or not a valid id.
    pub fn new(map: Map<String, Value>) -> Result<Self, RecordError> {
        match map.get(system::ID) {
            None | Some(Value::Null) => Err(RecordError::MissingId),
            Some(Value::String(id)) => {
                validate_id(id)?;
                Ok(Record(map))
            }
            Some(other) => {
                Err(RecordError::InvalidId { id: other.to_string(), reason: "the id must be a JSON string" })
            }
        }
    }

    /// Wraps a map whose `id` is known to be valid (it came from a record and was kept as it is).
    pub(crate) fn from_checked_map(map: Map<String, Value>) -> Self {
        debug_assert!(matches!(map.get(system::ID), Some(Value::String(id)) if validate_id(id).is_ok()));
        Record(map)
    }

    /// Wraps a JSON value, which must be an object with a valid id.
    pub fn from_json(value: Value) -> Result<Self, RecordError> {
        match value {
            Value::Object(map) => Record::new(map),
            other => Err(RecordError::NotAnObject { found: json_type_name(&other) }),
        }
    }

    /// The record's id.
    pub fn id(&self) -> &str {
        // `new`/`with_id` guarantee a string id and `set`/`remove` never break it.
        self.0.get(system::ID).and_then(Value::as_str).unwrap_or_default()
    }

    /// The value of a field, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// Sets a field. Setting `id` validates the new id.
    pub fn set(&mut self, key: impl Into<String>, value: Value) -> Result<(), RecordError> {
        let key = key.into();
        if key == system::ID {
            match &value {
                Value::String(id) => validate_id(id)?,
                Value::Null => return Err(RecordError::MissingId),
                other => {
                    return Err(RecordError::InvalidId {
                        id: other.to_string(),
                        reason: "the id must be a JSON string",
                    })
                }
            }
        }
        self.0.insert(key, value);
        Ok(())
    }

    /// Removes a field and returns its value. The `id` cannot be removed (returns `None`).
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        if key == system::ID {
            return None;
        }
        self.0.remove(key)
    }

    /// The fields as a JSON map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The fields as a JSON map, consuming the record.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// The server's opaque `version`, if the record has one.
    pub fn version(&self) -> Option<&str> {
        self.0.get(system::VERSION).and_then(Value::as_str)
    }

    /// The server's `updatedAt`, exactly as stored.
    pub fn updated_at(&self) -> Option<&str> {
        self.0.get(system::UPDATED_AT).and_then(Value::as_str)
    }

    /// Whether the record is soft-deleted (`deleted: true`).
    pub fn is_deleted(&self) -> bool {
        matches!(self.0.get(system::DELETED), Some(Value::Bool(true)))
    }
}

impl TryFrom<Map<String, Value>> for Record {
    type Error = RecordError;
    fn try_from(map: Map<String, Value>) -> Result<Self, Self::Error> {
        Record::new(map)
    }
}

impl From<Record> for Map<String, Value> {
    fn from(r: Record) -> Self {
        r.0
    }
}

impl From<Record> for Value {
    fn from(r: Record) -> Self {
        Value::Object(r.0)
    }
}

/// Checks an item id against the protocol's rules: non-empty, at most [`MAX_ID_LEN`] bytes, no
/// control characters, none of `" + ? \ / `` ` ``, and not `.` or `..` (ids travel in URL paths).
///
/// ```
/// assert!(sync_core::backend::validate_id("5c3a-item").is_ok());
/// assert!(sync_core::backend::validate_id("a/b").is_err());
/// assert!(sync_core::backend::validate_id("").is_err());
/// ```
pub fn validate_id(id: &str) -> Result<(), RecordError> {
    let fail = |reason| Err(RecordError::InvalidId { id: truncate_for_message(id), reason });
    if id.is_empty() {
        return fail("the id is empty");
    }
    if id.len() > MAX_ID_LEN {
        return fail("the id is longer than 255 bytes");
    }
    if id == "." || id == ".." {
        return fail("the id cannot be '.' or '..'");
    }
    if id.chars().any(char::is_control) {
        return fail("the id contains a control character");
    }
    if id.chars().any(|c| matches!(c, '"' | '+' | '?' | '\\' | '/' | '`')) {
        return fail("the id contains one of \" + ? \\ / `");
    }
    Ok(())
}

/// The JSON type name used in error messages (`"integer"`, `"string"`, …), so every store words
/// [`RecordError::WrongType`] the same way.
///
/// ```
/// assert_eq!(sync_core::backend::json_type_name(&serde_json::json!(1.5)), "number");
/// ```
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Keeps error messages short and printable when they quote user input.
pub(crate) fn truncate_for_message(s: &str) -> String {
    let mut out: String = s.chars().take(64).map(|c| if c.is_control() { '?' } else { c }).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_validated() {
        assert!(validate_id(&"x".repeat(255)).is_ok());
        assert!(validate_id(&"x".repeat(256)).is_err());
        assert!(validate_id("a\u{0}b").is_err());
        assert!(validate_id("a\nb").is_err());
        assert!(validate_id("..").is_err());
        assert!(validate_id("émoji-🦀").is_ok());
    }

    #[test]
    fn records_need_a_string_id() {
        assert!(matches!(Record::from_json(json!({"id": 5})), Err(RecordError::InvalidId { .. })));
        assert!(matches!(Record::from_json(json!({"id": null})), Err(RecordError::MissingId)));
        assert!(matches!(Record::from_json(json!([1])), Err(RecordError::NotAnObject { .. })));
        let mut r = Record::with_id("a").unwrap();
        assert!(r.set("id", json!("b/c")).is_err());
        assert_eq!(r.remove("id"), None);
        assert_eq!(r.id(), "a");
    }

    #[test]
    fn deserialising_checks_the_id() {
        let err = serde_json::from_str::<Record>(r#"{"id":"a?b"}"#);
        assert!(err.is_err());
        let ok: Record = serde_json::from_str(r#"{"id":"ab","n":1}"#).unwrap();
        assert_eq!(ok.get("n"), Some(&json!(1)));
    }
}
