//! Checks a [`Query`] against a table's schema and normalises its literals, so every store
//! evaluates the same thing.

use super::expr::{CompareOp, Expr, Query};
use super::value::QueryValue;
use crate::error::QueryError;
use crate::schema::{canonical_datetime, ColumnType, TableSchema};

/// Checks every column and literal of `query` against `schema` and returns the normalised query:
/// `eq null`/`ne null` become `IsNull`/`not IsNull`, strings compared with date-time columns
/// become date-time literals, and type mismatches, unknown columns, ordering on JSON columns and
/// non-finite numbers are errors.
///
/// ```
/// use sync_core::backend::resolve_query;
/// use sync_core::{Column, ColumnType, Query, TableSchema, column};
/// let schema = TableSchema::new("T", vec![Column::new("n", ColumnType::Integer)]).unwrap();
/// assert!(resolve_query(&Query::new().filter(column("n").gt(1)), &schema).is_ok());
/// assert!(resolve_query(&Query::new().filter(column("nope").gt(1)), &schema).is_err());
/// assert!(resolve_query(&Query::new().filter(column("n").eq("x")), &schema).is_err());
/// ```
pub fn resolve_query(query: &Query, schema: &TableSchema) -> Result<Query, QueryError> {
    let mut out = query.clone();
    if let Some(filter) = &query.filter {
        out.filter = Some(resolve_expr(filter, schema)?);
    }
    for order in &query.order_by {
        let ty = column_type(schema, &order.column)?;
        if ty == ColumnType::Json {
            return Err(mismatch(&order.column, "JSON columns cannot be ordered by"));
        }
    }
    if let Some(select) = &query.select {
        for c in select {
            column_type(schema, c)?;
        }
    }
    Ok(out)
}

fn resolve_expr(expr: &Expr, schema: &TableSchema) -> Result<Expr, QueryError> {
    Ok(match expr {
        Expr::Compare { column, op, value } => {
            let ty = column_type(schema, column)?;
            match (op, value) {
                (CompareOp::Eq, QueryValue::Null) => Expr::IsNull { column: column.clone() },
                (CompareOp::Ne, QueryValue::Null) => !Expr::IsNull { column: column.clone() },
                (_, QueryValue::Null) => return Err(mismatch(column, "only eq and ne compare with null")),
                _ if ty == ColumnType::Json => return Err(mismatch(column, "JSON columns only support is_null")),
                _ => Expr::Compare { column: column.clone(), op: *op, value: resolve_value(column, ty, value)? },
            }
        }
        Expr::In { column, values } => {
            let ty = column_type(schema, column)?;
            if ty == ColumnType::Json {
                return Err(mismatch(column, "JSON columns only support is_null"));
            }
            let values = values
                .iter()
                .map(|v| match v {
                    QueryValue::Null => Err(mismatch(column, "`in` lists cannot hold null; use is_null")),
                    v => resolve_value(column, ty, v),
                })
                .collect::<Result<_, _>>()?;
            Expr::In { column: column.clone(), values }
        }
        Expr::StartsWith { column, .. } | Expr::Contains { column, .. } => {
            if column_type(schema, column)? != ColumnType::String {
                return Err(mismatch(column, "starts_with and contains apply to string columns"));
            }
            expr.clone()
        }
        Expr::IsNull { column } => {
            column_type(schema, column)?;
            expr.clone()
        }
        Expr::And(v) => Expr::And(v.iter().map(|e| resolve_expr(e, schema)).collect::<Result<_, _>>()?),
        Expr::Or(v) => Expr::Or(v.iter().map(|e| resolve_expr(e, schema)).collect::<Result<_, _>>()?),
        Expr::Not(e) => Expr::Not(Box::new(resolve_expr(e, schema)?)),
    })
}

fn resolve_value(column: &str, ty: ColumnType, value: &QueryValue) -> Result<QueryValue, QueryError> {
    let bad = || mismatch(column, &format!("{} cannot be compared with {value:?}", ty.name()));
    Ok(match (ty, value) {
        (ColumnType::String, QueryValue::String(_)) | (ColumnType::Bool, QueryValue::Bool(_)) => value.clone(),
        (ColumnType::Integer | ColumnType::Real, QueryValue::Integer(_)) => value.clone(),
        (ColumnType::Integer | ColumnType::Real, QueryValue::Real(f)) if f.is_finite() => value.clone(),
        (ColumnType::DateTime, QueryValue::DateTime(s) | QueryValue::String(s)) => {
            QueryValue::DateTime(canonical_datetime(s).ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    })
}

fn column_type(schema: &TableSchema, column: &str) -> Result<ColumnType, QueryError> {
    schema
        .column(column)
        .map(|c| c.ty)
        .ok_or_else(|| QueryError::UnknownColumn { table: schema.name().to_owned(), column: column.to_owned() })
}

fn mismatch(column: &str, message: &str) -> QueryError {
    QueryError::TypeMismatch { column: column.to_owned(), message: message.to_owned() }
}
