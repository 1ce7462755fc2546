//! The query plan of a pull's page, on both databases: the keyset page the engine asks for
//! (`$filter` = the cursor's keyset condition, `$orderby=updatedAt,id`) is read as one range of
//! the `(updatedAt, id)` index, in the index's order, with no sort. Either a scan from the start
//! of the index (SQLite, for the `or` of comparisons) or a sort of every row after the cursor
//! (PostgreSQL, for an index whose NULL order is not the query's) makes a pull of n rows do
//! O(n²) work.

use sqlx::{Connection, Row};
use sync_core::Column;

use super::filter::Dialect;
use super::page_sql::{all_columns, page_sql};
use super::postgres::PostgresBackend;
use super::sqlite::SqliteBackend;
use super::Backend;
use crate::odata::QueryOptions;
use crate::table::{TableDef, TableOptions};
use crate::test_postgres::PgServer;

fn table() -> TableDef {
    TableDef {
        name: "Item".into(),
        columns: vec![Column::nullable("name", sync_core::ColumnType::String)],
        dynamic: false,
        options: TableOptions::default(),
    }
}

/// The SQL of a keyset page and its filter's parameters.
fn keyset_page(dialect: Dialect) -> (String, Vec<String>) {
    let filter = "(updatedAt gt datetimeoffset'2024-01-01T00:00:00Z') or \
                  ((updatedAt eq datetimeoffset'2024-01-01T00:00:00Z') and (id gt 'b'))";
    let pairs: Vec<(String, String)> =
        [("$filter", filter), ("$orderby", "updatedAt,id"), ("$top", "1000"), ("__includeDeleted", "true")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
    let options = QueryOptions::from_pairs(&pairs).expect("options");
    let sql = page_sql(&table(), &all_columns(&table().columns), &options, dialect).expect("sql");
    let params = sql
        .params
        .iter()
        .map(|p| match p {
            super::SqlValue::Text(t) => t.clone(),
            other => panic!("a keyset parameter is text, not {other:?}"),
        })
        .collect();
    (sql.select, params)
}

#[tokio::test]
async fn a_keyset_page_on_sqlite_is_one_index_range_with_no_sort() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("plan.sqlite");
    let backend = SqliteBackend::open(Some(&path)).await.expect("a database");
    backend.prepare(&table()).await.expect("prepare");
    backend.close().await;
    let (sql, params) = keyset_page(Dialect::Sqlite);
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
    for p in params {
        query = query.bind(p);
    }
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("a connection");
    let plan: Vec<String> = query
        .bind(1001_i64)
        .bind(0_i64)
        .fetch_all(&mut conn)
        .await
        .expect("a plan")
        .iter()
        .map(|r| r.get::<String, _>(3))
        .collect();
    assert_eq!(plan, ["SEARCH Item USING INDEX __ix_Item_updatedAt_id ((updatedAt,id)>(?,?))"], "{sql}");
}

#[tokio::test]
async fn a_keyset_page_on_postgres_is_one_index_range_with_no_sort() {
    let url = PgServer::shared().fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
    let backend = PostgresBackend::open(&url).await.expect("a database");
    backend.prepare(&table()).await.expect("prepare");
    backend.close().await;
    let (sql, params) = keyset_page(Dialect::Postgres);
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("a connection");
    // A table this small is cheaper to scan: ask what the plan is when the index is the way
    // (then only an index that gives the page's order needs no sort).
    for set in ["SET enable_seqscan = off", "SET enable_bitmapscan = off"] {
        sqlx::query(set).execute(&mut conn).await.expect("set");
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")));
    for p in params {
        query = query.bind(p);
    }
    let plan: Vec<String> = query
        .bind(1001_i64)
        .bind(0_i64)
        .fetch_all(&mut conn)
        .await
        .expect("a plan")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let text = plan.join("\n");
    assert!(text.contains("Index Scan using \"__ix_Item_keyset\""), "{sql}\n{text}");
    assert!(text.contains("Index Cond: (ROW("), "{sql}\n{text}");
    assert!(!text.contains("Sort"), "{sql}\n{text}");
}
