//! Filter evaluation as the Node server runs it on SQLite: SQL's three-valued logic.
//!
//! The server turns `$filter` into a SQL `WHERE` clause (npm `azure-odata-sql`), so a comparison
//! with a null column is *unknown*, `not unknown` is unknown, and only rows where the clause is
//! true are returned. `eq null` / `ne null` become `IS NULL` / `IS NOT NULL`. Non-null comparisons
//! are [`sync_core::backend::matches`]. `startswith` and `substringof` are built as
//! `LIKE (@p + '%')`, which SQLite evaluates as a number, so they match no row.

use super::timestamps::TimestampStorage;
use sync_core::backend::matches;
use sync_core::{CompareOp, Expr, QueryValue, Record};

/// Rewrites date-time literals the way the server binds them (`Date.toISOString()`, or seven
/// digits for a server that stores seven, see [`TimestampStorage`]).
pub(super) fn prepare(expr: &Expr, stamps: TimestampStorage) -> Expr {
    match expr {
        Expr::Compare { column, op, value } => {
            Expr::Compare { column: column.clone(), op: *op, value: prepare_value(value, stamps) }
        }
        Expr::In { column, values } => {
            Expr::In { column: column.clone(), values: values.iter().map(|v| prepare_value(v, stamps)).collect() }
        }
        Expr::And(v) => Expr::And(v.iter().map(|e| prepare(e, stamps)).collect()),
        Expr::Or(v) => Expr::Or(v.iter().map(|e| prepare(e, stamps)).collect()),
        Expr::Not(e) => Expr::Not(Box::new(prepare(e, stamps))),
        other => other.clone(),
    }
}

fn prepare_value(value: &QueryValue, stamps: TimestampStorage) -> QueryValue {
    match value {
        QueryValue::DateTime(s) => QueryValue::DateTime(stamps.literal(s)),
        other => other.clone(),
    }
}

/// Whether the server's `WHERE` clause is true for `row`.
pub(super) fn sql_matches(expr: &Expr, row: &Record) -> bool {
    eval(expr, row) == Some(true)
}

/// SQL truth value: `None` is unknown.
fn eval(expr: &Expr, row: &Record) -> Option<bool> {
    let is_null = |c: &str| row.get(c).is_none_or(serde_json::Value::is_null);
    match expr {
        Expr::Compare { column, op, value } if value.is_null() => match op {
            CompareOp::Eq => Some(is_null(column)),
            CompareOp::Ne => Some(!is_null(column)),
            _ => None,
        },
        Expr::Compare { column, .. } | Expr::In { column, .. } if is_null(column) => {
            // `col = v` is unknown; `col eq null` inside an `in` list is `IS NULL`, true here.
            match expr {
                Expr::In { values, .. } if values.iter().any(QueryValue::is_null) => Some(true),
                Expr::In { values, .. } if values.is_empty() => Some(false),
                _ => None,
            }
        }
        Expr::Compare { .. } | Expr::In { .. } => Some(matches(expr, row)),
        Expr::StartsWith { column, .. } | Expr::Contains { column, .. } => {
            if is_null(column) {
                None
            } else {
                Some(false)
            }
        }
        Expr::IsNull { column } => Some(is_null(column)),
        Expr::And(v) => all(v.iter().map(|e| eval(e, row))),
        Expr::Or(v) => all(v.iter().map(|e| eval(e, row).map(|b| !b))).map(|b| !b),
        Expr::Not(e) => eval(e, row).map(|b| !b),
    }
}

/// SQL `AND` over truth values: false wins, then unknown (`OR` is its De Morgan dual).
fn all(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut out = Some(true);
    for v in values {
        match v {
            Some(false) => return Some(false),
            None => out = None,
            Some(true) => {}
        }
    }
    out
}
