//! A resolved [`Query`] as SQL with bound parameters, matching
//! [`run_query`](sync_core::backend::run_query) exactly:
//! - two-valued logic: every predicate is 0 or 1, never NULL, so `NOT` is plain negation —
//!   `eq`/`ne` use the null-safe `IS`/`IS NOT`, ordering comparisons and `IN` are guarded by
//!   `IS NOT NULL` (false on a null column);
//! - `starts_with` compares the leading bytes (`substr` of the value as a blob) and `contains`
//!   uses `instr`, both case-sensitive, with `%` and `_` meaning themselves (no `LIKE`);
//! - strings compare byte-wise (SQLite's default `BINARY` collation), integers and reals
//!   numerically, booleans as 0/1;
//! - nulls first ascending and last descending (SQLite's order), then `id` ascending;
//! - soft-deleted rows hidden unless `include_deleted`; the total count ignores skip/top.
//!
//! Only validated identifiers are written into the SQL; every value is a `?` parameter.

use sync_core::backend::system;
use sync_core::backend::StoreError;
use sync_core::{Column, QueryValue};
use sync_core::{CompareOp, Expr, Query};

use crate::catalogue::TableInfo;
use crate::statement::{placeholders, Param, Stmt};

/// The statements of a query: its rows, and its count when asked for.
pub(crate) struct Plan<'q> {
    /// The rows (cells in the order of `columns`).
    pub(crate) rows: Stmt<'q>,
    /// `SELECT count(*)` of the matching rows, if the query asked for a total.
    pub(crate) count: Option<Stmt<'q>>,
    /// The columns read for each row.
    pub(crate) columns: Vec<&'q Column>,
}

/// Plans a query that [`resolve_query`](sync_core::backend::resolve_query) has checked against the table.
pub(crate) fn plan<'q>(info: &'q TableInfo, query: &'q Query) -> Result<Plan<'q>, StoreError> {
    let mut where_sql = String::new();
    let mut params = Vec::new();
    let mut terms = 0;
    if !query.include_deleted {
        where_sql.push_str(&format!("{} = 0", info.column_sql(system::DELETED)?));
        terms += 1;
    }
    if let Some(filter) = &query.filter {
        if terms > 0 {
            where_sql.push_str(" AND ");
        }
        write_expr(info, &mut where_sql, &mut params, filter)?;
        terms += 1;
    }
    let where_clause = if terms > 0 { format!(" WHERE {where_sql}") } else { String::new() };

    let count = query
        .include_total_count
        .then(|| Stmt::new(format!("SELECT count(*) FROM {}{where_clause}", info.table_sql), params.clone()));

    let columns = info.projection(query.select.as_deref());
    let list = columns.iter().map(|c| info.column_sql(&c.name)).collect::<Result<Vec<_>, _>>()?;
    let mut sql = format!("SELECT {} FROM {}{where_clause} ORDER BY ", list.join(", "), info.table_sql);
    for key in &query.order_by {
        sql.push_str(info.column_sql(&key.column)?);
        sql.push_str(if key.descending { " DESC, " } else { " ASC, " });
    }
    sql.push_str(info.column_sql(system::ID)?);
    sql.push_str(" ASC");
    let mut row_params = params;
    if query.top.is_some() || query.skip.is_some() {
        sql.push_str(" LIMIT ? OFFSET ?");
        // LIMIT -1 is "no limit"; values beyond i64 are as good as unbounded.
        row_params.push(Param::Integer(query.top.map_or(-1, |t| i64::try_from(t).unwrap_or(-1))));
        row_params.push(Param::Integer(query.skip.map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX))));
    }
    Ok(Plan { rows: Stmt::new(sql, row_params), count, columns })
}

/// The `WHERE` text of a filter (for `delete_matching`), resolved like a query's.
pub(crate) fn filter_sql<'q>(info: &TableInfo, expr: &'q Expr) -> Result<(String, Vec<Param<'q>>), StoreError> {
    let mut sql = String::new();
    let mut params = Vec::new();
    write_expr(info, &mut sql, &mut params, expr)?;
    Ok((sql, params))
}

fn write_expr<'q>(
    info: &TableInfo,
    sql: &mut String,
    params: &mut Vec<Param<'q>>,
    expr: &'q Expr,
) -> Result<(), StoreError> {
    match expr {
        Expr::Compare { column, op, value } => {
            let col = info.column_sql(column)?;
            let op_sql = match op {
                CompareOp::Eq => "IS",
                CompareOp::Ne => "IS NOT",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
            };
            if matches!(op, CompareOp::Eq | CompareOp::Ne) {
                sql.push_str(&format!("({col} {op_sql} ?)"));
            } else {
                sql.push_str(&format!("({col} IS NOT NULL AND {col} {op_sql} ?)"));
            }
            params.push(literal(value));
        }
        Expr::In { values, .. } if values.is_empty() => sql.push('0'),
        Expr::In { column, values } => {
            let col = info.column_sql(column)?;
            let marks = placeholders(values.len());
            sql.push_str(&format!("({col} IS NOT NULL AND {col} IN ({marks}))"));
            params.extend(values.iter().map(literal));
        }
        Expr::StartsWith { column, prefix } => {
            let col = info.column_sql(column)?;
            sql.push_str(&format!(
                "({col} IS NOT NULL AND substr(CAST({col} AS BLOB), 1, length(CAST(? AS BLOB))) = CAST(? AS BLOB))"
            ));
            params.push(Param::text(prefix));
            params.push(Param::text(prefix));
        }
        Expr::Contains { column, needle } => {
            let col = info.column_sql(column)?;
            sql.push_str(&format!("({col} IS NOT NULL AND instr({col}, ?) > 0)"));
            params.push(Param::text(needle));
        }
        Expr::IsNull { column } => sql.push_str(&format!("({} IS NULL)", info.column_sql(column)?)),
        Expr::And(v) if v.is_empty() => sql.push('1'),
        Expr::Or(v) if v.is_empty() => sql.push('0'),
        Expr::And(v) | Expr::Or(v) => {
            let joiner = if matches!(expr, Expr::And(_)) { " AND " } else { " OR " };
            sql.push('(');
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    sql.push_str(joiner);
                }
                write_expr(info, sql, params, e)?;
            }
            sql.push(')');
        }
        Expr::Not(e) => {
            sql.push_str("(NOT ");
            write_expr(info, sql, params, e)?;
            sql.push(')');
        }
    }
    Ok(())
}

fn literal(value: &QueryValue) -> Param<'_> {
    match value {
        // Resolved queries turn `eq null` into `IsNull`; a stray null compares as SQL NULL.
        QueryValue::Null => Param::NullText,
        QueryValue::Bool(b) => Param::Integer(i64::from(*b)),
        QueryValue::Integer(i) => Param::Integer(*i),
        QueryValue::Real(f) => Param::Real(*f),
        QueryValue::String(s) | QueryValue::DateTime(s) => Param::text(s),
    }
}

#[cfg(test)]
mod tests {
    use sync_core::{column, ColumnType, TableSchema};

    use super::*;
    use crate::catalogue::{name_columns, StoredTable};

    #[test]
    fn values_are_parameters() {
        let schema = TableSchema::new("T", vec![Column::new("s", ColumnType::String)]).unwrap();
        let columns = name_columns(schema.columns(), &Default::default());
        let info = TableInfo::new(&StoredTable { schema, sql_name: "T".into(), columns, retained: vec![] }).unwrap();
        let q = Query::new().filter(column("s").eq("'; DROP TABLE x; --")).top(3).with_total_count();
        let p = plan(&info, &q).unwrap();
        assert!(!p.rows.sql().contains("DROP"));
        assert!(p.rows.sql().ends_with("ORDER BY \"id\" ASC LIMIT ? OFFSET ?"));
        assert!(p.count.is_some());
    }
}
