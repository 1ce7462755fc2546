//! Values in and out of PostgreSQL: typed parameters (PostgreSQL checks the type of every
//! parameter, a NULL included), rows as JSON items, and database errors as answers.

use serde_json::Value;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row};
use sync_core::{Column, ColumnType};

use crate::error::{short, Error};
use crate::storage::page_json::RowValues;
use crate::storage::{real_json, Item, SqlValue};

/// A query on dynamic SQL text (built only from checked identifiers and placeholders).
pub(super) type Query = sqlx::query::Query<'static, Postgres, PgArguments>;

/// A query of SQL text built by this backend.
pub(super) fn q(sql: String) -> Query {
    sqlx::query(AssertSqlSafe(sql))
}

/// Binds a value; a NULL gets the SQL type of its column.
pub(super) fn bind(query: Query, value: &SqlValue, ty: ColumnType) -> Query {
    match value {
        SqlValue::Null => match ty {
            ColumnType::Bool => query.bind(Option::<bool>::None),
            ColumnType::Integer => query.bind(Option::<i64>::None),
            ColumnType::Real => query.bind(Option::<f64>::None),
            ColumnType::String | ColumnType::DateTime | ColumnType::Json => query.bind(Option::<String>::None),
        },
        SqlValue::Bool(b) => query.bind(*b),
        SqlValue::Int(i) => query.bind(*i),
        SqlValue::Real(f) => query.bind(*f),
        SqlValue::Text(s) => query.bind(s.clone()),
    }
}

/// Binds a filter's parameters (never NULL: filters write `NULL` as a keyword).
pub(super) fn bind_params(mut query: Query, params: &[SqlValue]) -> Query {
    for p in params {
        query = bind(query, p, ColumnType::String);
    }
    query
}

/// One stored value as JSON. Unchecked reads: the domains `sync_datetime` and `sync_json` are
/// text on the wire, but not the `text` type sqlx would check for.
fn json_value(row: &PgRow, i: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        ColumnType::String | ColumnType::DateTime => {
            row.try_get_unchecked::<Option<String>, _>(i)?.map(Value::String).unwrap_or(Value::Null)
        }
        ColumnType::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool).unwrap_or(Value::Null),
        ColumnType::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::from).unwrap_or(Value::Null),
        ColumnType::Real => row.try_get::<Option<f64>, _>(i)?.map(real_json).unwrap_or(Value::Null),
        ColumnType::Json => match row.try_get_unchecked::<Option<String>, _>(i)? {
            None => Value::Null,
            Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        },
    })
}

/// Reads as [`json_value`] does, without owning the text.
impl RowValues for PgRow {
    fn text(&self, i: usize) -> Result<Option<&str>, sqlx::Error> {
        self.try_get_unchecked(i)
    }
    fn boolean(&self, i: usize) -> Result<Option<bool>, sqlx::Error> {
        self.try_get(i)
    }
    fn integer(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(i)
    }
    fn real(&self, i: usize) -> Result<Option<f64>, sqlx::Error> {
        self.try_get(i)
    }
}

/// A row of `SELECT <select_list(columns)>` as an item.
pub(super) fn item_from_row(row: &PgRow, columns: &[Column]) -> Result<Item, sqlx::Error> {
    let mut item = Item::new();
    for (i, c) in columns.iter().enumerate() {
        item.insert(c.name.clone(), json_value(row, i, c.ty)?);
    }
    Ok(item)
}

/// A database error as an answer. PostgreSQL refuses some values SQLite takes (class 22, data
/// exceptions: a NUL character in text, a number out of range, a date it cannot read) and some
/// filters (class 42 from a query: `name eq 1` compares text with a number): those are the
/// request's fault, a 400 with PostgreSQL's message. Anything else is a 500.
pub(super) fn db_error(e: sqlx::Error, from_filter: bool) -> Error {
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().unwrap_or_default();
        if code.starts_with("22") {
            return Error::bad_request(format!("the database refuses a value: {}", short(db.message())));
        }
        if from_filter && code.starts_with("42") {
            return Error::bad_request(format!("$filter cannot be evaluated: {}", short(db.message())));
        }
    }
    Error::from(e)
}
