//! [`QueryValue`]: a typed literal in a filter.

use chrono::{DateTime, Utc};

use crate::schema::format_datetime;

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
impl<T: Into<QueryValue>> From<Option<T>> for QueryValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(QueryValue::Null, Into::into)
    }
}
