//! [`QueryValue`]: a typed literal in a filter.

use chrono::{DateTime, Utc};

use serde_json::Value;

use crate::error::ValueError;
use crate::schema::{canonical_datetime, format_datetime, ColumnType};
use crate::sync_value::SyncValue;

/// A literal compared against a column. Date-times are kept apart from strings so the OData
/// serialiser can write `datetimeoffset'…'`.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A float (must be finite).
    Real(f64),
    /// A string.
    String(String),
    /// A UTC instant in canonical form (`YYYY-MM-DDTHH:MM:SS.sssZ`).
    DateTime(String),
}

impl QueryValue {
    /// A date-time literal.
    pub fn datetime(dt: DateTime<Utc>) -> Self {
        QueryValue::DateTime(format_datetime(dt))
    }

    /// The literal of a value of a [`SyncValue`] type, by its column type: what the derive's
    /// `From<YourType> for QueryValue` uses, for your own impls to do the same. A JSON value
    /// (arrays, objects) becomes its text, which no query accepts: JSON columns only take
    /// `is_null`.
    ///
    /// ```
    /// use sync_core::QueryValue;
    /// let id = uuid::Uuid::nil();
    /// assert_eq!(QueryValue::of(&id), Ok(QueryValue::String(id.to_string())));
    /// assert_eq!(QueryValue::of(&Some(5_i32)), Ok(QueryValue::Integer(5)));
    /// ```
    pub fn of<T: SyncValue>(value: &T) -> Result<Self, ValueError> {
        Ok(match value.to_json()? {
            Value::Null => QueryValue::Null,
            Value::Bool(b) => QueryValue::Bool(b),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => QueryValue::Integer(i),
                (None, Some(f)) => QueryValue::Real(f),
                (None, None) => return Err(ValueError::new(format!("{n} is not a number a query can hold"))),
            },
            Value::String(s) if T::COLUMN_TYPE == ColumnType::DateTime => {
                QueryValue::DateTime(canonical_datetime(&s).unwrap_or(s))
            }
            Value::String(s) => QueryValue::String(s),
            other => QueryValue::String(other.to_string()),
        })
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, QueryValue::Null)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for QueryValue {
            fn from(v: $t) -> Self { QueryValue::Integer(i64::from(v)) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for QueryValue {
    fn from(v: bool) -> Self {
        QueryValue::Bool(v)
    }
}
impl From<f64> for QueryValue {
    fn from(v: f64) -> Self {
        QueryValue::Real(v)
    }
}
impl From<f32> for QueryValue {
    fn from(v: f32) -> Self {
        QueryValue::Real(f64::from(v))
    }
}
impl From<String> for QueryValue {
    fn from(v: String) -> Self {
        QueryValue::String(v)
    }
}
impl From<&str> for QueryValue {
    fn from(v: &str) -> Self {
        QueryValue::String(v.to_owned())
    }
}
impl From<DateTime<Utc>> for QueryValue {
    fn from(v: DateTime<Utc>) -> Self {
        QueryValue::datetime(v)
    }
}
impl From<uuid::Uuid> for QueryValue {
    fn from(v: uuid::Uuid) -> Self {
        QueryValue::String(v.hyphenated().to_string())
    }
}
impl<T: Into<QueryValue>> From<Option<T>> for QueryValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(QueryValue::Null, Into::into)
    }
}
