//! Databases made by earlier versions. A SQLite file that declared date-time columns `DATETIME`
//! (NUMERIC affinity) is served as it is — its date-times read, filtered, pulled by keyset and
//! written, a dynamic table's `DATETIME` column still typed a date-time — while a new file
//! declares them `DATETIMETEXT` (TEXT affinity), its values stored as text. A PostgreSQL
//! database with the earlier `(updatedAt, id)` index (NULLs last) gets the keyset index (NULLs
//! first, the order pages sort in) in its place.

mod common;

use common::{fresh_postgres_database, send, Target, TestServer};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, Row, SqliteConnection};

const TABLES: &str = r#"
[tables.AllTypes]
columns = { s = "string", i = "number", r = "number", b = "boolean", d = "date" }
[tables.Notes]
dynamic_schema = true
"#;

async fn connect(path: &std::path::Path) -> SqliteConnection {
    SqliteConnectOptions::new().filename(path).create_if_missing(true).connect().await.expect("the file opens")
}

/// The declared type of each column of a table.
async fn declared(path: &std::path::Path, table: &str) -> Vec<(String, String)> {
    let mut conn = connect(path).await;
    let rows = sqlx::query("SELECT name, type FROM pragma_table_info(?1)")
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .expect("table info");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// The schema and rows an earlier version wrote (its `prepare` and inserts, verbatim).
async fn make_old_file(path: &std::path::Path) {
    let mut conn = connect(path).await;
    for sql in [
        "CREATE TABLE __sync_clock (name TEXT PRIMARY KEY NOT NULL, last_ms INTEGER NOT NULL)",
        "CREATE TABLE \"AllTypes\" (\"id\" TEXT PRIMARY KEY NOT NULL, \"createdAt\" DATETIME NOT NULL, \
         \"updatedAt\" DATETIME NOT NULL, \"version\" TEXT NOT NULL, \"deleted\" BOOLEAN NOT NULL DEFAULT 0, \
         \"s\" TEXT, \"i\" REAL, \"r\" REAL, \"b\" BOOLEAN, \"d\" DATETIME)",
        "CREATE INDEX \"__ix_AllTypes_updatedAt_id\" ON \"AllTypes\" (\"updatedAt\", \"id\")",
        "INSERT INTO \"AllTypes\" VALUES \
         ('a', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 'v1', 0, 'x', 1, 1.5, 1, '2024-06-15T12:30:45.678Z'), \
         ('b', '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z', 'v2', 0, 'y', 2, NULL, 0, NULL)",
        "CREATE TABLE \"Notes\" (\"id\" TEXT PRIMARY KEY NOT NULL, \"createdAt\" DATETIME NOT NULL, \
         \"updatedAt\" DATETIME NOT NULL, \"version\" TEXT NOT NULL, \"deleted\" BOOLEAN NOT NULL DEFAULT 0, \
         \"due\" DATETIME)",
        "CREATE INDEX \"__ix_Notes_updatedAt_id\" ON \"Notes\" (\"updatedAt\", \"id\")",
        "INSERT INTO \"Notes\" VALUES ('n1', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 'v1', 0, \
         '2024-03-01T00:00:00.000Z')",
        "INSERT INTO __sync_clock VALUES ('AllTypes', 1704153600000), ('Notes', 1704067200000)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect("the old schema");
    }
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array().expect("an array").iter().map(|r| r["id"].as_str().expect("an id")).collect()
}

#[tokio::test]
async fn a_file_with_the_old_datetime_declaration_keeps_working() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("old.sqlite");
    make_old_file(&path).await;
    let server = TestServer::on(TABLES, Target::File(path.clone()), |b| b);
    let (client, url) = (Client::new(), server.url.as_str());

    let (s, v) = send(&client, url, Method::GET, "/tables/AllTypes/a", None, None).await;
    assert_eq!(
        (s, &v["d"], &v["updatedAt"]),
        (200, &json!("2024-06-15T12:30:45.678Z"), &json!("2024-01-01T00:00:00.000Z"))
    );
    let (s, v) = send(
        &client,
        url,
        Method::GET,
        "/tables/AllTypes?$filter=d%20eq%20datetimeoffset'2024-06-15T13:30:45.678%2B01:00'",
        None,
        None,
    )
    .await;
    assert_eq!((s, ids(&v)), (200, vec!["a"]), "{v}");

    // New writes on the old file: an insert, and an update of the date-time column.
    let body = json!({"id": "c", "d": "2025-01-01T00:00:00Z"});
    let (s, v) = send(&client, url, Method::POST, "/tables/AllTypes", None, Some(&body)).await;
    assert_eq!((s, &v["d"]), (201, &json!("2025-01-01T00:00:00.000Z")), "{v}");
    let (s, v) =
        send(&client, url, Method::PATCH, "/tables/AllTypes/a", None, Some(&json!({"d": "2023-05-05T05:05:05.5Z"})))
            .await;
    assert_eq!((s, &v["d"]), (200, &json!("2023-05-05T05:05:05.500Z")), "{v}");

    // A keyset pull sees the rows in write order: b, then c and a (written just now).
    let (s, v) = send(
        &client,
        url,
        Method::GET,
        "/tables/AllTypes?$filter=updatedAt%20gt%20datetimeoffset'2024-01-01T00:00:00.000Z'\
         &$orderby=updatedAt,id&__includeDeleted=true",
        None,
        None,
    )
    .await;
    assert_eq!((s, ids(&v)), (200, vec!["b", "c", "a"]), "{v}");
    let (s, v) = send(
        &client,
        url,
        Method::GET,
        "/tables/AllTypes?$filter=d%20lt%20datetimeoffset'2024-01-01T00:00:00Z'",
        None,
        None,
    )
    .await;
    assert_eq!((s, ids(&v)), (200, vec!["a"]), "{v}");

    // The dynamic table's old `DATETIME` column is still a date-time column.
    let (s, v) = send(
        &client,
        url,
        Method::POST,
        "/tables/Notes",
        None,
        Some(&json!({"id": "n2", "due": "2024-04-01T00:00:00Z"})),
    )
    .await;
    assert_eq!((s, &v["due"]), (201, &json!("2024-04-01T00:00:00.000Z")), "{v}");
    let (s, v) = send(&client, url, Method::POST, "/tables/Notes", None, Some(&json!({"id": "n3", "due": 5}))).await;
    assert_eq!(s, 400, "a number for a date-time column: {v}");
    let (s, v) = send(
        &client,
        url,
        Method::GET,
        "/tables/Notes?$filter=due%20ge%20datetimeoffset'2024-03-01T00:00:00Z'",
        None,
        None,
    )
    .await;
    assert_eq!((s, ids(&v)), (200, vec!["n1", "n2"]), "{v}");

    // The file was served as it was: no column was redeclared.
    let types = declared(&path, "AllTypes").await;
    let date_times: Vec<&str> = types
        .iter()
        .filter(|(n, _)| ["createdAt", "updatedAt", "d"].contains(&n.as_str()))
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(date_times, ["DATETIME", "DATETIME", "DATETIME"]);
}

#[tokio::test]
async fn a_new_file_declares_date_times_with_text_affinity() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("new.sqlite");
    let server = TestServer::on(TABLES, Target::File(path.clone()), |b| b);
    let (client, url) = (Client::new(), server.url.as_str());
    let body = json!({"id": "a", "d": "2024-06-15T12:30:45.678Z"});
    let (s, v) = send(&client, url, Method::POST, "/tables/AllTypes", None, Some(&body)).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = send(&client, url, Method::POST, "/tables/Notes", None, Some(&json!({"id": "n", "text": "hi"}))).await;
    assert_eq!(s, 201, "{v}");

    let types = declared(&path, "AllTypes").await;
    for (name, ty) in &types {
        if ["createdAt", "updatedAt", "d"].contains(&name.as_str()) {
            assert_eq!(ty, "DATETIMETEXT", "{name}");
        }
    }
    let notes = declared(&path, "Notes").await;
    assert!(notes.iter().any(|(n, t)| n == "updatedAt" && t == "DATETIMETEXT"), "{notes:?}");
    let mut conn = connect(&path).await;
    let row = sqlx::query("SELECT typeof(\"createdAt\"), typeof(\"updatedAt\"), typeof(\"d\") FROM \"AllTypes\"")
        .fetch_one(&mut conn)
        .await
        .expect("a row");
    let kinds: Vec<String> = (0..3).map(|i| row.get(i)).collect();
    assert_eq!(kinds, ["text", "text", "text"]);
}

/// The indexes of a PostgreSQL table: (name, definition).
async fn pg_indexes(url: &str, table: &str) -> Vec<(String, String)> {
    let mut conn = PgConnection::connect(url).await.expect("a connection");
    let rows = sqlx::query("SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY 1")
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .expect("the indexes");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

#[tokio::test]
async fn a_postgres_database_with_the_old_index_gets_the_keyset_index() {
    let url = fresh_postgres_database();
    let body = json!({"id": "a", "d": "2024-06-15T12:30:45.678Z"});
    {
        let server = TestServer::on(TABLES, Target::Url(url.clone()), |b| b);
        let (s, v) = send(&Client::new(), &server.url, Method::POST, "/tables/AllTypes", None, Some(&body)).await;
        assert_eq!(s, 201, "{v}");
    }
    // As an earlier version left it.
    let mut conn = PgConnection::connect(&url).await.expect("a connection");
    for sql in [
        "DROP INDEX \"__ix_AllTypes_keyset\"",
        "CREATE INDEX \"__ix_AllTypes_updatedAt_id\" ON \"AllTypes\" (\"updatedAt\", \"id\")",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect("the old index");
    }
    let server = TestServer::on(TABLES, Target::Url(url.clone()), |b| b);
    let names: Vec<String> = pg_indexes(&url, "AllTypes").await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["AllTypes_pkey", "__ix_AllTypes_keyset"]);
    let (_, def) = pg_indexes(&url, "AllTypes").await.remove(1);
    assert!(def.ends_with("(\"updatedAt\" NULLS FIRST, id NULLS FIRST)"), "{def}");
    let (s, v) = send(
        &Client::new(),
        &server.url,
        Method::GET,
        "/tables/AllTypes?$filter=(updatedAt%20gt%20datetimeoffset'2024-01-01T00:00:00Z')%20or%20\
         ((updatedAt%20eq%20datetimeoffset'2024-01-01T00:00:00Z')%20and%20(id%20gt%20''))&$orderby=updatedAt,id",
        None,
        None,
    )
    .await;
    assert_eq!((s, ids(&v)), (200, vec!["a"]), "{v}");
}
