//! Values the official Node server would mangle, end to end: a JSON-valued field travels as JSON
//! text and comes back as the same JSON on another device; an integer beyond ±2^53, which a
//! JavaScript server rounds, is reported and the device keeps its own value.

use std::sync::{Arc, Mutex};

use backend_azure_rest::test_server::NodeServer;
use serde_json::json;
use sync_core::{Column, ColumnType, PullOptions, Query, Record, Remote, SyncContext, SyncEvent, TableSchema};

async fn device(
    server: &NodeServer,
    schema: TableSchema,
) -> (SyncContext, sync_core::JsonTable, Arc<Mutex<Vec<SyncEvent>>>) {
    let store = store_diesel::DieselStore::open_in_memory().await.unwrap();
    let ctx = SyncContext::builder(store).remote(server.remote()).build().await.unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    ctx.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    let table = ctx.json_table(schema).await.unwrap();
    (ctx, table, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_fields_travel_as_text_and_come_back_as_json() {
    let server = NodeServer::builder().extra_tables(r#"{"Doc":{"data":"string"}}"#).start().await.unwrap();
    let schema = TableSchema::new("Doc", vec![Column::nullable("data", ColumnType::Json)]).unwrap();
    let value = json!({"tags": ["a", "b"], "nested": {"n": 1.5, "ok": true}, "text": "it's \"quoted\""});
    let (a, docs, events) = device(&server, schema.clone()).await;
    docs.insert(Record::from_json(json!({"id": "doc-1", "data": value})).unwrap()).await.unwrap();
    a.push().await.unwrap();
    // The server holds the JSON text, not "[object Object]".
    let raw = server.remote().read("Doc", "doc-1").await.unwrap();
    let text = raw.get("data").and_then(|v| v.as_str()).expect("the server stores text");
    assert_eq!(serde_json::from_str::<serde_json::Value>(text).unwrap(), value);
    assert_eq!(docs.get("doc-1").await.unwrap().unwrap().get("data"), Some(&value), "the push answer keeps the JSON");
    assert!(!events.lock().unwrap().iter().any(|e| matches!(e, SyncEvent::ServerChangedValues { .. })));

    let (_b, other, _) = device(&server, schema).await;
    other.pull(&Query::new(), PullOptions::incremental("docs")).await.unwrap();
    assert_eq!(other.get("doc-1").await.unwrap().unwrap().get("data"), Some(&value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integer_the_server_rounds_is_reported_and_kept_locally() {
    let server = NodeServer::shared().await;
    let schema = TableSchema::new("AllTypes", vec![Column::nullable("i", ColumnType::Integer)]).unwrap();
    let (ctx, table, events) = device(server, schema).await;
    let beyond = 9_007_199_254_740_993_i64; // 2^53 + 1: a double cannot hold it
    let id = format!("round-{}", std::process::id());
    table.insert(Record::from_json(json!({"id": id, "i": beyond})).unwrap()).await.unwrap();
    let summary = ctx.push().await.unwrap();
    assert_eq!(summary.succeeded, 1, "{summary:?}");
    let reported: Vec<Vec<String>> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            SyncEvent::ServerChangedValues { columns, .. } => Some(columns.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reported, vec![vec!["i".to_owned()]], "the rounding is reported");
    let local = table.get(&id).await.unwrap().unwrap();
    assert_eq!(local.get("i"), Some(&json!(beyond)), "the device keeps its own value");
    assert!(local.version().is_some(), "and takes the server's version");
}
