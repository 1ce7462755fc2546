//! Field types of the user's in the engine, on the in-memory pair: a pulled row whose value a
//! field's type refuses (an enum name this version does not know) is rejected alone, the rest of
//! its page is stored and reads back typed; local writes and queries use the types' forms. (The
//! same against the real Node server: backend-azure-rest/tests/own_types.rs.)

use serde_json::json;
use store_memory::{MemoryRemote, MemoryStore};
use sync_core::{PullOptions, Query, Record, SyncContext, SyncEntity, SyncValue};

#[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
#[sync(rename_all = "lowercase")]
enum Status {
    Open,
    Done,
}

#[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
struct Cents(i64);

#[derive(SyncEntity, Debug, Clone, PartialEq)]
struct Order {
    id: String,
    status: Status,
    total: Cents,
    #[sync(json)]
    lines: Vec<String>,
}

fn row(v: serde_json::Value) -> Record {
    Record::from_json(v).unwrap()
}

#[tokio::test]
async fn a_pulled_row_a_type_refuses_is_rejected_alone() {
    let remote = MemoryRemote::new();
    remote.seed(
        "Order",
        [
            row(json!({"id": "a", "status": "open", "total": 100, "lines": "[\"tea\"]"})),
            row(json!({"id": "b", "status": "archived", "total": 5, "lines": "[]"})),
            row(json!({"id": "c", "status": "done", "total": 7, "lines": "{\"not\":\"a list\"}"})),
            row(json!({"id": "d", "status": "done", "total": 250, "lines": "[\"milk\",\"eggs\"]"})),
        ],
        "2024-01-01T00:00:00.000Z",
    );
    let ctx = SyncContext::builder(MemoryStore::new()).remote(remote.clone()).build().await.unwrap();
    let orders = ctx.table::<Order>().await.unwrap();
    let summary = orders.pull(&Query::new(), PullOptions::incremental("all").page_size(10)).await.unwrap();
    assert_eq!((summary.rows, summary.upserted, summary.requests), (4, 2, 1), "one page, its good rows stored");
    let rejected: Vec<(&str, Option<&str>)> =
        summary.rejected.iter().map(|r| (r.id.as_str(), r.column.as_deref())).collect();
    assert_eq!(rejected, vec![("b", Some("status")), ("c", Some("lines"))]);
    assert!(summary.rejected[0].reason.contains(r#"expected one of "open", "done", found the string "archived""#));
    assert_eq!(ctx.rejected_rows().await.unwrap(), summary.rejected, "kept for the app");

    // Every stored row reads back typed: the refused ones never reached the store.
    let all = orders.query(&Query::new()).await.unwrap();
    assert_eq!(
        all,
        vec![
            Order { id: "a".into(), status: Status::Open, total: Cents(100), lines: vec!["tea".into()] },
            Order {
                id: "d".into(),
                status: Status::Done,
                total: Cents(250),
                lines: vec!["milk".into(), "eggs".into()]
            },
        ]
    );
    let big_done = Query::new().filter(Order::STATUS.eq(Status::Done) & Order::TOTAL.gt(Cents(200)));
    let found: Vec<String> = orders.query(&big_done).await.unwrap().into_iter().map(|o| o.id).collect();
    assert_eq!(found, vec!["d".to_owned()]);
}

#[tokio::test]
async fn writes_go_in_the_types_forms_and_a_json_table_is_checked_too() {
    let remote = MemoryRemote::new();
    let ctx = SyncContext::builder(MemoryStore::new()).remote(remote.clone()).build().await.unwrap();
    let orders = ctx.table::<Order>().await.unwrap();
    let order = Order { id: "o1".into(), status: Status::Open, total: Cents(42), lines: vec!["tea".into()] };
    orders.insert(order.clone()).await.unwrap();
    ctx.push().await.unwrap();
    let sent = remote.row("Order", "o1").unwrap();
    assert_eq!(sent.get("status"), Some(&json!("open")));
    assert_eq!(sent.get("total"), Some(&json!(42)));
    assert_eq!(sent.get("lines"), Some(&json!("[\"tea\"]")), "JSON travels as text");
    assert_eq!(orders.get("o1").await.unwrap(), Some(order));

    // The same table written untyped is held to the types' rules.
    let untyped = ctx.json_table(Order::schema()).await.unwrap();
    let bad = row(json!({"id": "o2", "status": "lost", "total": 1, "lines": []}));
    let err = untyped.insert(bad).await.unwrap_err();
    assert!(err.to_string().contains("status"), "{err}");
}
