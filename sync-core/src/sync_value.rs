//! [`SyncValue`]: a Rust type an entity field can have, with the column type that holds it and
//! its conversion to and from the record's JSON value; the impls for the types the derive knows.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ValueError;
use crate::schema::ColumnType;

/// A type an entity field can have: which [`ColumnType`] stores it, whether `null` is one of its
/// values, and how it converts to and from the JSON value a [`Record`](crate::Record) holds.
///
/// `#[derive(SyncEntity)]` uses it for every field type it does not know by name, so a type of
/// yours becomes a column type with one `impl` (or `#[derive(SyncValue)]`, below). sync-core
/// implements it for the types the derive knows (`String`, `bool`, the integers up to `i64` and
/// `u32`, `f32`, `f64`, `DateTime<Utc>`, `serde_json::Value`, and `Option<T>` of any of them or
/// of your types) and for `uuid::Uuid` (a string column, in the hyphenated lowercase form).
///
/// # Deriving it
///
/// `#[derive(SyncValue)]` (re-exported here) covers the common cases:
/// - a unit-only enum is a string column holding the variant's name, or its
///   `#[sync(rename = "...")]`, or the name in `#[sync(rename_all = "snake_case")]` style (also
///   `lowercase`, `UPPERCASE`, `camelCase`, `PascalCase`, `SCREAMING_SNAKE_CASE`, `kebab-case`);
/// - a newtype (`struct Cents(i64);`, or a struct with one named field) is stored as its inner type;
/// - any `Serialize + Deserialize` type marked `#[sync(json)]` is a JSON column.
///
/// The derive also writes `From<YourType> for QueryValue`, so the field's column handle compares
/// with your values (`Task::PRIORITY.eq(Priority::High)`).
///
/// ```
/// use sync_core::{Query, SyncEntity, SyncValue};
///
/// #[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
/// #[sync(rename_all = "lowercase")]
/// enum Priority {
///     Low,
///     High,
///     #[sync(rename = "asap")]
///     Urgent,
/// }
///
/// #[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
/// struct Cents(i64);
///
/// #[derive(SyncEntity, Debug, Clone, PartialEq)]
/// struct Task {
///     id: String,
///     priority: Priority,
///     price: Option<Cents>,
///     owner: uuid::Uuid,
///     #[sync(json)]
///     tags: Vec<String>,
/// }
///
/// let task = Task {
///     id: "t1".into(),
///     priority: Priority::Urgent,
///     price: Some(Cents(250)),
///     owner: uuid::Uuid::nil(),
///     tags: vec!["home".into()],
/// };
/// let record = task.to_record()?;
/// assert_eq!(record.get("priority"), Some(&serde_json::json!("asap")));
/// assert_eq!(record.get("price"), Some(&serde_json::json!(250)));
/// assert_eq!(Task::from_record(&record)?, task);
/// let urgent = Query::new().filter(Task::PRIORITY.eq(Priority::Urgent) & Task::PRICE.gt(Cents(100)));
/// # let _ = urgent;
/// # Ok::<_, sync_core::backend::RecordError>(())
/// ```
///
/// # Implementing it
///
/// ```
/// use serde_json::Value;
/// use sync_core::{ColumnType, SyncValue, ValueError};
///
/// /// An e-mail address, checked on the way in.
/// #[derive(Debug, PartialEq)]
/// struct Email(String);
///
/// impl SyncValue for Email {
///     const COLUMN_TYPE: ColumnType = ColumnType::String;
///
///     fn to_json(&self) -> Result<Value, ValueError> {
///         Ok(Value::String(self.0.clone()))
///     }
///
///     fn from_json(value: &Value) -> Result<Self, ValueError> {
///         match value.as_str() {
///             Some(s) if s.contains('@') => Ok(Email(s.to_owned())),
///             _ => Err(ValueError::expected("an e-mail address", value)),
///         }
///     }
/// }
///
/// assert_eq!(Email::from_json(&"ann@example.com".into()), Ok(Email("ann@example.com".into())));
/// let wrong = Email::from_json(&"ann".into()).unwrap_err();
/// assert_eq!(wrong.to_string(), "expected an e-mail address, found the string \"ann\"");
/// ```
///
/// To compare such a column in queries, implement `From<Email> for QueryValue` as well
/// ([`QueryValue::of`](crate::QueryValue::of) converts through this trait).
///
/// # The contract
///
/// - [`to_json`](Self::to_json) gives a value of [`COLUMN_TYPE`](Self::COLUMN_TYPE) (or `null`,
///   only when [`NULLABLE`](Self::NULLABLE)); the schema checks it when the record is written.
/// - [`from_json`](Self::from_json) gets the value in its canonical form (see [`ColumnType`]: an
///   integer column holds an `i64`, a date-time column the text `YYYY-MM-DDTHH:MM:SS.sssZ`, a JSON
///   column the parsed JSON), or `null` for a null or absent value. A value it refuses is an
///   error, never a panic: the derived `from_record` reports it as `RecordError::Field` naming the
///   column (`RecordError::NullValue` when the value was `null`).
/// - The derived schema checks every value of such a column with `from_json` when a record is
///   conformed: a server row whose value your type refuses (an enum name this version does not
///   know) is rejected alone when pulled (`SyncEvent::RowRejected`, `SyncContext::rejected_rows`),
///   and the rest of its page is stored.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a column: it does not implement `SyncValue`",
    label = "not a column type",
    note = "`#[derive(SyncValue)]` stores a unit-only enum as a string and a newtype `struct Cents(i64);` as its inner type",
    note = "mark the field `#[sync(json)]` to store any `Serialize + Deserialize` type as JSON, implement `sync_core::SyncValue` for the type, or leave the field out with `#[sync(skip)]`"
)]
pub trait SyncValue: Sized {
    /// The type of the column that stores it.
    const COLUMN_TYPE: ColumnType;

    /// Whether `null` is one of its values (`Option<T>`, `serde_json::Value`): the column is
    /// then nullable.
    const NULLABLE: bool = false;

    /// The value to store.
    fn to_json(&self) -> Result<Value, ValueError>;

    /// Reads a stored value (`null` for a null or absent one).
    fn from_json(value: &Value) -> Result<Self, ValueError>;
}

/// `T::deserialize` straight from the borrowed value, without copying it.
fn deserialize<T: DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    T::deserialize(value).map_err(ValueError::from)
}

/// The types the derive knows by name, by their serde forms: the same values and messages as
/// before the trait existed.
macro_rules! by_serde {
    ($($t:ty => $column:ident),* $(,)?) => {$(
        impl SyncValue for $t {
            const COLUMN_TYPE: ColumnType = ColumnType::$column;

            fn to_json(&self) -> Result<Value, ValueError> {
                serde_json::to_value(self).map_err(ValueError::from)
            }

            fn from_json(value: &Value) -> Result<Self, ValueError> {
                deserialize(value)
            }
        }
    )*};
}

by_serde! {
    String => String,
    bool => Bool,
    i8 => Integer,
    i16 => Integer,
    i32 => Integer,
    i64 => Integer,
    u8 => Integer,
    u16 => Integer,
    u32 => Integer,
    f32 => Real,
    f64 => Real,
    DateTime<Utc> => DateTime,
}

/// Any JSON value; `null` is one of them.
impl SyncValue for Value {
    const COLUMN_TYPE: ColumnType = ColumnType::Json;
    const NULLABLE: bool = true;

    fn to_json(&self) -> Result<Value, ValueError> {
        Ok(self.clone())
    }

    fn from_json(value: &Value) -> Result<Self, ValueError> {
        Ok(value.clone())
    }
}

/// A nullable column of `T`'s type: `None` is `null`.
impl<T: SyncValue> SyncValue for Option<T> {
    const COLUMN_TYPE: ColumnType = T::COLUMN_TYPE;
    const NULLABLE: bool = true;

    fn to_json(&self) -> Result<Value, ValueError> {
        match self {
            Some(v) => v.to_json(),
            None => Ok(Value::Null),
        }
    }

    fn from_json(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

/// A string column holding the hyphenated lowercase form
/// (`67e55044-10b1-426f-9247-bb680e5fe0c8`); any form `Uuid::parse_str` accepts reads back.
impl SyncValue for uuid::Uuid {
    const COLUMN_TYPE: ColumnType = ColumnType::String;

    fn to_json(&self) -> Result<Value, ValueError> {
        Ok(Value::String(self.hyphenated().to_string()))
    }

    fn from_json(value: &Value) -> Result<Self, ValueError> {
        match value.as_str().map(uuid::Uuid::parse_str) {
            Some(Ok(id)) => Ok(id),
            _ => Err(ValueError::expected("a UUID", value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T: SyncValue + PartialEq + std::fmt::Debug>(value: T, json: Value) {
        assert_eq!(value.to_json().unwrap(), json);
        assert_eq!(T::from_json(&json).unwrap(), value);
    }

    #[test]
    fn known_types_keep_their_serde_forms() {
        round_trip("milk".to_owned(), json!("milk"));
        round_trip(true, json!(true));
        round_trip(-3_i8, json!(-3));
        round_trip(u32::MAX, json!(4_294_967_295_u32));
        round_trip(i64::MIN, json!(i64::MIN));
        round_trip(0.25_f32, json!(0.25));
        let at = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.678Z").unwrap().with_timezone(&Utc);
        round_trip(at, json!("2024-01-02T03:04:05.678Z"));
        assert_eq!(DateTime::<Utc>::from_json(&json!("2024-01-02T04:04:05.678+01:00")).unwrap(), at);
        round_trip(json!({"a": [1]}), json!({"a": [1]}));
        round_trip(Value::Null, Value::Null);
        assert_eq!(f64::NAN.to_json().unwrap(), Value::Null, "NaN is written as null, as serde does");
    }

    #[test]
    fn column_types_and_nullability() {
        assert_eq!(<String as SyncValue>::COLUMN_TYPE, ColumnType::String);
        assert_eq!(<u16 as SyncValue>::COLUMN_TYPE, ColumnType::Integer);
        assert_eq!(<f64 as SyncValue>::COLUMN_TYPE, ColumnType::Real);
        assert_eq!(<DateTime<Utc> as SyncValue>::COLUMN_TYPE, ColumnType::DateTime);
        assert_eq!(<uuid::Uuid as SyncValue>::COLUMN_TYPE, ColumnType::String);
        assert_eq!(<Option<bool> as SyncValue>::COLUMN_TYPE, ColumnType::Bool);
        let nullable =
            [<bool as SyncValue>::NULLABLE, <Option<bool> as SyncValue>::NULLABLE, <Value as SyncValue>::NULLABLE];
        assert_eq!(nullable, [false, true, true]);
    }

    #[test]
    fn wrong_values_are_errors_not_panics() {
        assert_eq!(u8::from_json(&json!(256)).unwrap_err().to_string(), "invalid value: integer `256`, expected u8");
        assert!(i32::from_json(&json!(1.5)).is_err());
        assert!(String::from_json(&json!(5)).is_err());
        assert!(bool::from_json(&Value::Null).is_err(), "null is no bool");
        assert!(DateTime::<Utc>::from_json(&json!("tomorrow")).is_err());
    }

    #[test]
    fn options_map_null_to_none() {
        round_trip(Some(5_i32), json!(5));
        round_trip(None::<i32>, Value::Null);
        assert!(Option::<i32>::from_json(&json!("x")).is_err(), "a wrong value stays an error");
    }

    #[test]
    fn uuids_are_hyphenated_strings() {
        let id = uuid::Uuid::parse_str("67E55044-10B1-426F-9247-BB680E5FE0C8").unwrap();
        round_trip(id, json!("67e55044-10b1-426f-9247-bb680e5fe0c8"));
        assert_eq!(uuid::Uuid::from_json(&json!("67e5504410b1426f9247bb680e5fe0c8")).unwrap(), id);
        let bad = uuid::Uuid::from_json(&json!("not-a-uuid")).unwrap_err();
        assert_eq!(bad.to_string(), "expected a UUID, found the string \"not-a-uuid\"");
        assert_eq!(uuid::Uuid::from_json(&json!(7)).unwrap_err().to_string(), "expected a UUID, found 7");
    }
}
