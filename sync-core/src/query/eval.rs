//! Evaluates a resolved [`Query`] over records in memory. Used by the in-memory store and remote;
//! every other store must give the same answers (the conformance suite checks it).

use std::cmp::Ordering;

use serde_json::Value;

use super::expr::{CompareOp, Expr, OrderBy, Query};
use super::value::QueryValue;
use crate::record::Record;
use crate::schema::system;

/// The rows a query returned, and the total count when it was asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    /// The rows, in order.
    pub items: Vec<Record>,
    /// Matching rows ignoring skip/top, when `include_total_count` was set.
    pub total_count: Option<u64>,
}

/// Whether a record matches a resolved filter (see [`resolve_query`](crate::backend::resolve_query)).
pub fn matches(expr: &Expr, record: &Record) -> bool {
    let field = |c: &str| record.get(c).unwrap_or(&Value::Null);
    match expr {
        Expr::Compare { column, op, value } => compare(field(column), *op, value),
        Expr::In { column, values } => values.iter().any(|v| compare(field(column), CompareOp::Eq, v)),
        Expr::StartsWith { column, prefix } => field(column).as_str().is_some_and(|s| s.starts_with(prefix.as_str())),
        Expr::Contains { column, needle } => field(column).as_str().is_some_and(|s| s.contains(needle.as_str())),
        Expr::IsNull { column } => field(column).is_null(),
        Expr::And(v) => v.iter().all(|e| matches(e, record)),
        Expr::Or(v) => v.iter().any(|e| matches(e, record)),
        Expr::Not(e) => !matches(e, record),
    }
}

fn compare(field: &Value, op: CompareOp, literal: &QueryValue) -> bool {
    let ord = match (field, literal) {
        (Value::Null, QueryValue::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, QueryValue::Null) => None,
        (Value::Bool(a), QueryValue::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), QueryValue::Integer(b)) => match a.as_i64() {
            Some(a) => Some(a.cmp(b)),
            None => a.as_f64().and_then(|a| a.partial_cmp(&(*b as f64))),
        },
        (Value::Number(a), QueryValue::Real(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
        (Value::String(a), QueryValue::String(b) | QueryValue::DateTime(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        _ => None,
    };
    match (op, ord) {
        (CompareOp::Eq, o) => o == Some(Ordering::Equal),
        (CompareOp::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => false,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
    }
}

/// Orders two values of one column: null first, then booleans (`false` < `true`), numbers
/// numerically, strings by bytes (SQLite's `BINARY` collation).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => a.as_f64().unwrap_or(f64::NAN).total_cmp(&b.as_f64().unwrap_or(f64::NAN)),
        },
        (Value::String(a), Value::String(b)) => a.as_bytes().cmp(b.as_bytes()),
        // Mixed or JSON values: fall back to their text so the order is still total.
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Orders two records by the keys, then by `id` ascending.
pub fn compare_records(order_by: &[OrderBy], a: &Record, b: &Record) -> Ordering {
    let null = Value::Null;
    for key in order_by {
        let ord = compare_values(a.get(&key.column).unwrap_or(&null), b.get(&key.column).unwrap_or(&null));
        let ord = if key.descending { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.id().as_bytes().cmp(b.id().as_bytes())
}

/// Runs a resolved query over rows: filter (and hide soft-deleted rows unless asked), order,
/// count, skip/top, select.
pub fn run_query<'a>(rows: impl IntoIterator<Item = &'a Record>, query: &Query) -> QueryResult {
    let mut hits: Vec<&Record> = rows
        .into_iter()
        .filter(|r| query.include_deleted || !r.is_deleted())
        .filter(|r| query.filter.as_ref().is_none_or(|f| matches(f, r)))
        .collect();
    hits.sort_by(|a, b| compare_records(&query.order_by, a, b));
    let total_count = query.include_total_count.then_some(hits.len() as u64);
    let skip = usize::try_from(query.skip.unwrap_or(0)).unwrap_or(usize::MAX);
    let top = usize::try_from(query.top.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
    let items = hits.into_iter().skip(skip).take(top).map(|r| project(r, query.select.as_deref())).collect();
    QueryResult { items, total_count }
}

/// Keeps only the selected columns (and `id`).
pub fn project(record: &Record, select: Option<&[String]>) -> Record {
    match select {
        None => record.clone(),
        Some(cols) => {
            let mut out = Record::with_id(record.id()).unwrap_or_else(|_| record.clone());
            for c in cols.iter().filter(|c| c.as_str() != system::ID) {
                if let Some(v) = record.get(c) {
                    // Only non-id keys are set here, which cannot fail.
                    let _ = out.set(c.clone(), v.clone());
                }
            }
            out
        }
    }
}
