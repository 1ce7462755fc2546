//! A group of inserts as one statement, outside any transaction: the clock step and the insert
//! together.
//!
//! In a transaction, a lone POST takes four round trips to the database (`BEGIN`, the clock, the
//! `INSERT`, `COMMIT`), and on two cores shared with the database each round trip is a pair of
//! context switches that costs more than the work. Here the clock step is a data-modifying `WITH`
//! of the `INSERT`, whose rows take their `updatedAt` from it, and the statement runs on its own
//! (autocommit): one round trip, atomic, with the guarantees of the module docs of [`super`]. The
//! clock row is locked before any row is written (the rows need its value) and held until the
//! statement commits, as in a transaction.
//!
//! The rows are bound as one array per column and unnested, so the statement's text depends only
//! on the columns named: it is prepared once per column set, whatever the size of the group.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use sync_core::{Column, ColumnType};

use super::rows::{db_error, item_from_row, q};
use super::{fetch_many_for_update, Error, Item};
use crate::storage::filter::ident;
use crate::storage::page_sql::{all_columns, select_list};
use crate::storage::{new_version, plan, SqlValue, Write};
use crate::table::TableDef;

/// What [`insert_alone`] did.
pub(super) enum Alone {
    /// The group was written (or refused) and committed: each write's answer.
    Done(Vec<Result<Item, Error>>),
    /// The group is not one statement's worth (columns that differ between rows, or a value of
    /// another type than its column's): nothing was sent.
    NotOne,
    /// The statement failed (a value the database refuses): nothing was written.
    Failed(Error),
}

/// Writes a group of inserts only (see [`plan::only_inserts`]; the writes pass
/// [`plan::can_plan`]) with one statement, when they name the same columns. An `Err` is a failure
/// after the statement committed (reading the rows of conflicting ids): its writes stand.
pub(super) async fn insert_alone(
    conn: &mut PgConnection,
    table: &TableDef,
    writes: &[Result<Write, Error>],
    owner: Option<&str>,
) -> Result<Alone, Error> {
    let plan::Plan { outcomes, actions } = plan::plan(table, writes, &mut HashMap::new(), owner);
    if actions.is_empty() {
        return Ok(Alone::Done(plan::answers(outcomes, Vec::new())));
    }
    if plan::insert_runs(&actions, usize::MAX).len() != 1 {
        return Ok(Alone::NotOne);
    }
    let Some(arrays) = ColumnArrays::of(&actions, &table.columns) else {
        return Ok(Alone::NotOne);
    };
    let columns = all_columns(&table.columns);
    let extra = i64::try_from(actions.len() - 1).map_err(|_| Error::internal("too many writes"))?;
    let query = q(statement(&table.name, &arrays.names, &select_list(&columns)))
        .bind(table.name.clone())
        .bind(Utc::now().timestamp_millis())
        .bind(extra)
        .bind(actions.iter().map(|a| a.id().to_owned()).collect::<Vec<_>>())
        .bind((0..actions.len()).map(|_| new_version()).collect::<Vec<_>>());
    let query = arrays.values.into_iter().fold(query, |query, column| column.bind(query));
    let rows = match query.fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(e) => return Ok(Alone::Failed(db_error(e, false))),
    };
    let mut items = Vec::with_capacity(actions.len());
    items.resize_with(actions.len(), || None);
    answer_inserts(conn, &table.name, &columns, &actions, 0..actions.len(), rows, owner, &mut items).await?;
    Ok(Alone::Done(plan::answers(outcomes, items)))
}

/// The statement: `$1` the table's name, `$2` now in milliseconds, `$3` the rows less one, `$4`
/// the ids, `$5` the versions, then one array per user column.
fn statement(table: &str, names: &[&str], returning: &str) -> String {
    let mut targets = vec!["id", "createdAt", "updatedAt", "version", "deleted"];
    targets.extend(names);
    let targets = targets.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", ");
    // Positional aliases (`c0`, `c1`, …): a user column may be called anything, `k` included.
    let aliases: String = (0..names.len()).map(|i| format!(", c{i}")).collect();
    let values: String = (0..names.len()).map(|i| format!(", r.c{i}")).collect();
    let arrays: String = (0..names.len()).map(|i| format!(", ${}", i + 6)).collect();
    format!(
        "WITH clock AS (\
           INSERT INTO __sync_clock (name, last_ms) VALUES ($1, $2 + $3) \
           ON CONFLICT (name) DO UPDATE SET last_ms = GREATEST(__sync_clock.last_ms + 1, $2) + $3 \
           RETURNING last_ms - $3 AS first_ms) \
         INSERT INTO {} ({targets}) \
         SELECT r.id, r.at, r.at, r.version, false{values} FROM (\
           SELECT u.*, {STAMP} AS at \
           FROM clock, unnest($4::text[], $5::text[]{arrays}) WITH ORDINALITY AS u(id, version{aliases}, k)\
         ) AS r \
         ON CONFLICT (\"id\") DO NOTHING RETURNING {returning}",
        ident(table)
    )
}

/// The `updatedAt` of the `k`-th row (from 1) as `sync_core::backend::format_datetime` writes it:
/// `YYYY-MM-DDTHH:MM:SS.sssZ`, computed from whole milliseconds (no floating point).
const STAMP: &str = "to_char(timestamp 'epoch' + (clock.first_ms + u.k - 1) * interval '1 millisecond', \
                     'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

/// Answers a run of inserts (`run`, indexes of `actions`) from the rows its statement returned,
/// reading the rows of the ids it did not return (see [`plan::missing_ids`]).
#[allow(clippy::too_many_arguments)] // the parts of one run of one plan, each used once
pub(super) async fn answer_inserts(
    conn: &mut PgConnection,
    table: &str,
    columns: &[Column],
    actions: &[plan::Action<'_>],
    run: std::ops::Range<usize>,
    rows: Vec<PgRow>,
    owner: Option<&str>,
    items: &mut [Option<Result<Item, Error>>],
) -> Result<(), Error> {
    let mut by_id = HashMap::with_capacity(rows.len());
    for row in rows {
        let item = item_from_row(&row, columns)?;
        if let Some(serde_json::Value::String(id)) = item.get("id") {
            by_id.insert(id.clone(), item);
        }
    }
    let missing = plan::missing_ids(actions, run.clone(), &by_id);
    let stored =
        if missing.is_empty() { HashMap::new() } else { fetch_many_for_update(conn, table, columns, &missing).await? };
    plan::answer_inserts(actions, run, by_id, stored, owner, items);
    Ok(())
}

/// The user columns of a run of inserts, one typed array each.
struct ColumnArrays<'a> {
    names: Vec<&'a str>,
    values: Vec<ColumnArray>,
}

impl<'a> ColumnArrays<'a> {
    /// The arrays of `actions` (inserts naming the same columns, in the same order), or `None`
    /// when a value does not have its column's type.
    fn of(actions: &[plan::Action<'a>], declared: &[Column]) -> Option<Self> {
        let plan::Action::Insert { values: first, .. } = actions.first()? else { return None };
        let names: Vec<&str> = first.iter().map(|v| v.name.as_str()).collect();
        let mut values = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let ty = declared.iter().find(|c| c.name == *name)?.ty;
            let mut array = ColumnArray::new(ty, actions.len());
            for action in actions {
                let plan::Action::Insert { values, .. } = action else { return None };
                array.push(&values.get(i)?.value)?;
            }
            values.push(array);
        }
        Some(ColumnArrays { names, values })
    }
}

/// One column's values, typed as the column is.
enum ColumnArray {
    Bool(Vec<Option<bool>>),
    Integer(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl ColumnArray {
    fn new(ty: ColumnType, rows: usize) -> Self {
        match ty {
            ColumnType::Bool => ColumnArray::Bool(Vec::with_capacity(rows)),
            ColumnType::Integer => ColumnArray::Integer(Vec::with_capacity(rows)),
            ColumnType::Real => ColumnArray::Real(Vec::with_capacity(rows)),
            ColumnType::String | ColumnType::DateTime | ColumnType::Json => ColumnArray::Text(Vec::with_capacity(rows)),
        }
    }

    /// Adds a value; `None` when it does not have the column's type (`protocol` types every value
    /// by its column, so the group then goes the transaction's way, which binds it as it comes).
    fn push(&mut self, value: &SqlValue) -> Option<()> {
        match (self, value) {
            (ColumnArray::Bool(a), SqlValue::Bool(b)) => a.push(Some(*b)),
            (ColumnArray::Integer(a), SqlValue::Int(i)) => a.push(Some(*i)),
            (ColumnArray::Real(a), SqlValue::Real(f)) => a.push(Some(*f)),
            (ColumnArray::Text(a), SqlValue::Text(s)) => a.push(Some(s.clone())),
            (ColumnArray::Bool(a), SqlValue::Null) => a.push(None),
            (ColumnArray::Integer(a), SqlValue::Null) => a.push(None),
            (ColumnArray::Real(a), SqlValue::Null) => a.push(None),
            (ColumnArray::Text(a), SqlValue::Null) => a.push(None),
            _ => return None,
        }
        Some(())
    }

    fn bind(self, query: super::rows::Query) -> super::rows::Query {
        match self {
            ColumnArray::Bool(a) => query.bind(a),
            ColumnArray::Integer(a) => query.bind(a),
            ColumnArray::Real(a) => query.bind(a),
            ColumnArray::Text(a) => query.bind(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use sqlx::{Connection, Row};
    use sync_core::backend::format_datetime;

    use super::STAMP;
    use crate::test_postgres::PgServer;

    /// The statement's `updatedAt` is the text the rest of the server writes, to the millisecond,
    /// across the clock's range: leap days, year ends, the first and last millisecond of a second.
    #[tokio::test]
    async fn stamps_written_by_the_statement_equal_the_servers_format() {
        let url = PgServer::shared().fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
        let mut samples: Vec<i64> = vec![
            0,
            1,
            999,
            1_000,
            951_782_400_000,     // 2000-02-29
            1_704_067_199_999,   // 2023-12-31T23:59:59.999Z
            1_704_067_200_000,   // 2024-01-01
            4_102_444_800_000,   // 2100-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
        ];
        let now = chrono::Utc::now().timestamp_millis();
        samples.extend((0..1_000).map(|i| now + i * 7_919));
        let sql = format!("SELECT {STAMP} FROM (SELECT $1::bigint AS first_ms) AS clock, (SELECT 1::bigint AS k) AS u");
        for ms in samples {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(ms).fetch_one(&mut conn).await.expect("query");
            let stamp: String = row.get(0);
            let want = format_datetime(DateTime::from_timestamp_millis(ms).expect("in range"));
            assert_eq!(stamp, want, "{ms} ms");
        }
    }
}
