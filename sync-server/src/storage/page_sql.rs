//! The SQL of one page of a table query (`GET /tables/{t}` with `$filter`, `$orderby`,
//! `$select`, `$skip`, `$top`, `$inlinecount`), written once for both databases: they differ only
//! where [`Dialect`] says (placeholders, `true`, where NULLs sort, the insertion-order column).

use sync_core::Column;

use super::filter::{ident, render_filter, Dialect};
use super::SqlValue;
use crate::error::{short, Error};
use crate::odata::QueryOptions;
use crate::table::{system_columns, TableDef};

/// The system columns, then the table's own.
pub(crate) fn all_columns(user: &[Column]) -> Vec<Column> {
    let mut all = system_columns();
    all.extend(user.iter().cloned());
    all
}

/// The quoted names of `columns`, comma separated.
pub(crate) fn select_list(columns: &[Column]) -> String {
    columns.iter().map(|c| ident(&c.name)).collect::<Vec<_>>().join(", ")
}

/// One page's statements and their parameters.
#[derive(Debug)]
pub(crate) struct PageSql {
    /// The rows: bind [`params`](Self::params), then the limit, then the offset.
    pub select: String,
    /// `SELECT COUNT(*)` of the same rows: bind [`params`](Self::params).
    pub count: String,
    /// The filter's literals, in order.
    pub params: Vec<SqlValue>,
}

/// The statements of a page of `table` (whose columns are `columns`), checking every column the
/// options name: an unknown one is a 400 that names the option.
pub(crate) fn page_sql(
    table: &TableDef,
    columns: &[Column],
    options: &QueryOptions,
    dialect: Dialect,
) -> Result<PageSql, Error> {
    let known = |name: &str, option: &str| {
        if columns.iter().any(|c| c.name == name) {
            Ok(())
        } else {
            Err(Error::bad_request(format!("{option}: the table has no column '{}'", short(name))))
        }
    };
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    if table.options.soft_delete && !options.include_deleted {
        conditions.push("NOT \"deleted\"".to_owned());
    }
    if let Some(filter) = &options.filter {
        let sql = render_filter(filter, columns, dialect, 1)?;
        conditions.push(sql.text);
        params = sql.params;
    }
    let condition = match (conditions.is_empty(), dialect) {
        (false, _) => conditions.join(" AND "),
        (true, Dialect::Sqlite) => "1".to_owned(),
        (true, Dialect::Postgres) => "true".to_owned(),
    };
    let mut order = Vec::new();
    let mut by_id = false;
    for o in &options.order_by {
        known(&o.column, "$orderby")?;
        by_id |= o.column == "id";
        let direction = match (dialect, o.descending) {
            (Dialect::Sqlite, false) => "ASC",
            (Dialect::Sqlite, true) => "DESC",
            // NULL sorts first, as on SQLite (PostgreSQL's default is last).
            (Dialect::Postgres, false) => "ASC NULLS FIRST",
            (Dialect::Postgres, true) => "DESC NULLS LAST",
        };
        order.push(format!("{} {direction}", ident(&o.column)));
    }
    // Insertion order breaks ties, as on the Node server's SQLite tables (rowid). Rows never tie
    // after `id` (the primary key), and without the tiebreak a pull's order (`updatedAt, id`) is
    // exactly the index's, so a page is read from the index with no sort.
    if !by_id {
        order.push(match dialect {
            Dialect::Sqlite => "rowid ASC".to_owned(),
            Dialect::Postgres => format!("{} ASC", ident(super::postgres::SEQ)),
        });
    }
    if let Some(select) = &options.select {
        for c in select {
            known(c, "$select")?;
        }
    }
    let table_name = ident(&table.name);
    let (limit, offset) = match dialect {
        Dialect::Sqlite => ("?".to_owned(), "?".to_owned()),
        Dialect::Postgres => (format!("${}", params.len() + 1), format!("${}", params.len() + 2)),
    };
    Ok(PageSql {
        select: format!(
            "SELECT {} FROM {table_name} WHERE {condition} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            select_list(columns),
            order.join(", ")
        ),
        count: format!("SELECT COUNT(*) FROM {table_name} WHERE {condition}"),
        params,
    })
}
