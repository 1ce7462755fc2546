//! Field types of the user's against the REAL official Node server (tests/server): an entity with
//! a `#[derive(SyncValue)]` enum and newtype, a `uuid::Uuid`, a `#[sync(json)]` list and a
//! `#[sync(json)]` struct type is pushed by one device and pulled into a fresh store on another,
//! which reads back equal values; a pull filtered on the enum goes to the server as OData; a row
//! another client wrote with an enum name this version does not know is rejected alone.

use backend_azure_rest::test_server::NodeServer;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sync_core::{PullOptions, Query, Record, Remote, SyncContext, SyncEntity, SyncTable, SyncValue};

#[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
#[sync(rename_all = "lowercase")]
enum Priority {
    Low,
    High,
    #[sync(rename = "asap")]
    Urgent,
}

#[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
struct Cents(i64);

#[derive(SyncValue, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[sync(json)]
struct Address {
    street: String,
    city: String,
}

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Task")]
struct Task {
    id: String,
    priority: Priority,
    price: Cents,
    owner: uuid::Uuid,
    #[sync(json)]
    tags: Vec<String>,
    address: Option<Address>,
}

const TABLES: &str =
    r#"{"Task":{"priority":"string","price":"number","owner":"string","tags":"string","address":"string"}}"#;

async fn device(server: &NodeServer) -> (SyncContext, SyncTable<Task>) {
    let store = store_diesel::DieselStore::open_in_memory().await.unwrap();
    let ctx = SyncContext::builder(store).remote(server.remote()).build().await.unwrap();
    let tasks = ctx.table::<Task>().await.unwrap();
    (ctx, tasks)
}

fn tasks() -> Vec<Task> {
    vec![
        Task {
            id: "t1".into(),
            priority: Priority::Urgent,
            price: Cents(1999),
            owner: uuid::Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap(),
            tags: vec!["home".into(), "it's \"quoted\"".into()],
            address: Some(Address { street: "1 Main St".into(), city: "Zürich".into() }),
        },
        Task {
            id: "t2".into(),
            priority: Priority::Low,
            price: Cents(-5),
            owner: uuid::Uuid::nil(),
            tags: vec![],
            address: None,
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_types_round_trip_through_the_node_server() {
    let server = NodeServer::builder().extra_tables(TABLES).start().await.unwrap();
    let (a, mine) = device(&server).await;
    for task in tasks() {
        mine.insert(task).await.unwrap();
    }
    assert_eq!(a.push().await.unwrap().succeeded, 2);

    // What the server holds: the enum's stored name, the newtype's integer, the UUID's text and
    // the JSON as text.
    let raw = server.remote().read("Task", "t1").await.unwrap();
    assert_eq!(raw.get("priority"), Some(&json!("asap")));
    assert_eq!(raw.get("price"), Some(&json!(1999)));
    assert_eq!(raw.get("owner"), Some(&json!("67e55044-10b1-426f-9247-bb680e5fe0c8")));
    let tags = raw.get("tags").and_then(|v| v.as_str()).expect("JSON is stored as text");
    assert_eq!(serde_json::from_str::<serde_json::Value>(tags).unwrap(), json!(["home", "it's \"quoted\""]));

    let (_b, theirs) = device(&server).await;
    let summary = theirs.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    assert_eq!(theirs.query(&Query::new()).await.unwrap(), tasks(), "a fresh store reads back equal values");

    // A pull filtered on the enum and the newtype: the server evaluates the OData literal.
    let (_c, urgent) = device(&server).await;
    let query = Query::new().filter(Task::PRIORITY.eq(Priority::Urgent) & Task::PRICE.gt(Cents(1000)));
    urgent.pull(&query, PullOptions::incremental("urgent")).await.unwrap();
    let ids: Vec<String> = urgent.query(&Query::new()).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, vec!["t1".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_with_an_unknown_enum_name_is_rejected_alone() {
    let server = NodeServer::builder().extra_tables(TABLES).start().await.unwrap();
    // Another client (a newer app version) writes a priority this version does not know, between
    // two rows it does.
    let other = server.remote();
    for (id, priority) in [("r1", "high"), ("r2", "someday"), ("r3", "low")] {
        let row = Record::from_json(json!({
            "id": id, "priority": priority, "price": 1, "owner": uuid::Uuid::nil().to_string(), "tags": "[]"
        }))
        .unwrap();
        other.insert("Task", &row).await.unwrap();
    }
    let (ctx, tasks) = device(&server).await;
    let summary = tasks.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    assert_eq!((summary.rows, summary.upserted, summary.requests), (3, 2, 1), "{summary:?}");
    let rejected: Vec<(&str, Option<&str>)> =
        summary.rejected.iter().map(|r| (r.id.as_str(), r.column.as_deref())).collect();
    assert_eq!(rejected, vec![("r2", Some("priority"))]);
    assert!(summary.rejected[0].reason.contains(r#"found the string "someday""#), "{}", summary.rejected[0].reason);
    assert_eq!(ctx.rejected_rows().await.unwrap(), summary.rejected);
    let kept: Vec<(String, Priority)> =
        tasks.query(&Query::new()).await.unwrap().into_iter().map(|t| (t.id, t.priority)).collect();
    assert_eq!(kept, vec![("r1".to_owned(), Priority::High), ("r3".to_owned(), Priority::Low)]);
}
