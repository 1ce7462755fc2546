//! Writes decided together, on SQLite and PostgreSQL: concurrent single requests committed as one
//! group (with failing ones in the middle), and `$batch`es of distinct ids (decided at once, see
//! `storage::plan`) whose preconditions fail part-way, each compared with the same operations
//! sent as single requests to a second server; and a batch with an id twice, which must behave as
//! the sequential requests do; and concurrent single writes to distinct rows, whose stale
//! `If-Match`es the group decided at once must refuse.

mod common;

use std::collections::HashSet;

use common::{comparable, send, Db, TestServer, CONFORMANCE_TABLES};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const TABLES: &str = "[tables.Hard]\nsoft_delete = false\ncolumns = { name = \"string\" }\n";

fn start(db: Db) -> TestServer {
    TestServer::with_config_on(db, &format!("{CONFORMANCE_TABLES}{TABLES}"), |b| b)
}

/// Rows `r1`…`r5` in `table` (`r5` deleted when the table soft-deletes); their versions.
async fn setup(client: &Client, base: &str, table: &str, soft: bool) -> Vec<String> {
    let mut versions = Vec::new();
    for i in 1..=5 {
        let (s, v) = send(
            client,
            base,
            Method::POST,
            &format!("/tables/{table}"),
            None,
            Some(&json!({"id": format!("r{i}"), "name": "x"})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        versions.push(v["version"].as_str().expect("a version").to_owned());
    }
    if soft {
        let (s, v) = send(client, base, Method::DELETE, &format!("/tables/{table}/r5"), None, None).await;
        assert_eq!(s, 200, "{v}");
    }
    versions
}

/// One batch of distinct ids whose preconditions fail part-way, against single requests: the
/// same statuses and items, and the batch's writes get increasing `updatedAt`s in order.
async fn batch_of_distinct_ids_matches_single_requests(db: Db, table: &str, with_refused_value: bool) {
    let soft = table != "Hard";
    let batched = start(db);
    let single = start(db);
    let client = Client::new();
    let bv = setup(&client, &batched.url, table, soft).await;
    let sv = setup(&client, &single.url, table, soft).await;
    // (operation, If-Match naming the version of setup row k: "V<k>")
    let mut ops = vec![
        json!({"op": "insert", "item": {"id": "new1", "name": "a"}}),
        json!({"op": "insert", "item": {"id": "r1", "name": "again"}}),
        json!({"op": "update", "id": "r2", "item": {"name": "b"}, "ifMatch": "V2"}),
        json!({"op": "update", "id": "r3", "item": {"name": "c"}, "ifMatch": "\"stale\""}),
        json!({"op": "delete", "id": "r4", "ifMatch": "V4"}),
        json!({"op": "delete", "id": "missing"}),
        json!({"op": "update", "id": "missing2", "item": {"name": "d"}}),
        json!({"op": "insert", "item": {"id": "new2", "name": 5}}),
        json!({"op": "insert", "item": {"id": "new3"}}),
        json!({"op": "update", "id": "r1", "item": {"name": "e"}, "ifMatch": "*"}),
    ];
    if soft {
        ops.push(json!({"op": "undelete", "id": "r5"}));
    }
    if with_refused_value {
        // PostgreSQL refuses a NUL in text: a 400 for this write alone, the others go on.
        ops.insert(3, json!({"op": "insert", "item": {"id": "nul", "name": "a\u{0}b"}}));
    }
    let resolve = |op: &Value, versions: &[String]| -> Option<String> {
        let m = op["ifMatch"].as_str()?;
        Some(match m.strip_prefix('V').and_then(|k| k.parse::<usize>().ok()) {
            Some(k) => format!("\"{}\"", versions[k - 1]),
            None => m.to_owned(),
        })
    };
    let doc: Vec<Value> = ops
        .iter()
        .map(|op| {
            let mut op = op.clone();
            match resolve(&op, &bv) {
                Some(m) => op["ifMatch"] = json!(m),
                None => {
                    if let Some(o) = op.as_object_mut() {
                        o.remove("ifMatch");
                    }
                }
            }
            op
        })
        .collect();
    let (s, v) = send(
        &client,
        &batched.url,
        Method::POST,
        &format!("/tables/{table}/$batch"),
        None,
        Some(&json!({ "operations": doc })),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let results = v["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), ops.len());
    let mut stamps = Vec::new();
    for (op, r) in ops.iter().zip(&results) {
        let id = op["id"].as_str().or(op["item"]["id"].as_str()).unwrap_or_default().to_owned();
        let (method, path, body) = match op["op"].as_str().unwrap() {
            "insert" => (Method::POST, format!("/tables/{table}"), Some(op["item"].clone())),
            "update" => (Method::PATCH, format!("/tables/{table}/{id}"), Some(op["item"].clone())),
            "delete" => (Method::DELETE, format!("/tables/{table}/{id}"), None),
            _ => (Method::POST, format!("/tables/{table}/{id}"), None),
        };
        let (ss, sb) = send(&client, &single.url, method, &path, resolve(op, &sv).as_deref(), body.as_ref()).await;
        let status = r["status"].as_u64().expect("a status") as u16;
        let body = if r.get("item").is_some() { r["item"].clone() } else { json!({"error": r["error"]}) };
        assert_eq!((status, comparable(body.clone())), (ss, comparable(sb)), "{op}");
        // A hard delete answers with the row as it was.
        if (soft || op["op"] != "delete") && matches!(status, 200 | 201) {
            stamps.push(body["updatedAt"].as_str().expect("an updatedAt").to_owned());
        }
    }
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "increasing in order: {stamps:?}");
    let mut statuses: Vec<u16> = results.iter().map(|r| r["status"].as_u64().unwrap() as u16).collect();
    if with_refused_value {
        let nul = statuses.remove(3);
        assert_eq!(nul, if db == Db::Postgres { 400 } else { 201 });
    }
    let mut expected = vec![201, 409, 200, 412, 200, 404, 404, 400, 201, 200];
    if soft {
        expected.push(201);
    }
    assert_eq!(statuses, expected);
    // What the batch wrote is what a read finds.
    for (id, name) in [("new1", Some("a")), ("r1", Some("e")), ("r2", Some("b")), ("r3", Some("x")), ("r4", None)] {
        let (s, v) = send(&client, &batched.url, Method::GET, &format!("/tables/{table}/{id}"), None, None).await;
        match name {
            Some(name) => assert_eq!((s, v["name"].as_str()), (200, Some(name)), "{id}: {v}"),
            None => assert_eq!(s, 404, "{id}: {v}"),
        }
    }
}

#[tokio::test]
async fn a_batch_of_distinct_ids_failing_part_way_matches_single_requests_on_sqlite() {
    batch_of_distinct_ids_matches_single_requests(Db::Sqlite, "Item", false).await;
    batch_of_distinct_ids_matches_single_requests(Db::Sqlite, "Hard", true).await;
}

#[tokio::test]
async fn a_batch_of_distinct_ids_failing_part_way_matches_single_requests_on_postgres() {
    batch_of_distinct_ids_matches_single_requests(Db::Postgres, "Item", false).await;
    batch_of_distinct_ids_matches_single_requests(Db::Postgres, "Item", true).await;
    batch_of_distinct_ids_matches_single_requests(Db::Postgres, "Hard", false).await;
}

/// Batches of inserts only (written as one statement on PostgreSQL when they name the same
/// columns, see `storage::postgres::insert`): one with a value PostgreSQL refuses and an id
/// already stored, one whose inserts name different columns. Each insert gets its own answer, and
/// what a read then finds is what the answers said.
async fn a_batch_of_inserts_only_answers_each(db: Db) {
    let server = start(db);
    let client = Client::new();
    let (s, stored) =
        send(&client, &server.url, Method::POST, "/tables/Item", None, Some(&json!({"id": "old", "name": "o"}))).await;
    assert_eq!(s, 201, "{stored}");
    let refused = if db == Db::Postgres { 400 } else { 201 };
    let batches = [
        (
            json!([
                {"op": "insert", "item": {"id": "i1", "name": "a", "n": 1}},
                {"op": "insert", "item": {"id": "i2", "name": "a\u{0}b", "n": 2}},
                {"op": "insert", "item": {"id": "old", "name": "again", "n": 0}},
                {"op": "insert", "item": {"id": "i3", "name": "c", "n": 3.5}},
            ]),
            vec![201, refused, 409, 201],
        ),
        (
            json!([
                {"op": "insert", "item": {"id": "j1", "name": "d"}},
                {"op": "insert", "item": {"id": "old", "n": 0}},
                {"op": "insert", "item": {"id": "j2", "name": "e", "n": 4}},
            ]),
            vec![201, 409, 201],
        ),
    ];
    for (ops, want) in batches {
        let (s, v) =
            send(&client, &server.url, Method::POST, "/tables/Item/$batch", None, Some(&json!({"operations": ops})))
                .await;
        assert_eq!(s, 200, "{v}");
        let results = v["results"].as_array().expect("results");
        let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, want, "{ops}");
        let mut stamps = Vec::new();
        for (op, result) in ops.as_array().expect("ops").iter().zip(results) {
            let id = op["item"]["id"].as_str().expect("an id");
            let (s, row) = send(&client, &server.url, Method::GET, &format!("/tables/Item/{id}"), None, None).await;
            match result["status"].as_u64() {
                Some(201) => {
                    assert_eq!((s, &row), (200, &result["item"]), "{id}: a read finds what the answer said");
                    stamps.push(row["updatedAt"].as_str().expect("an updatedAt").to_owned());
                }
                Some(409) => {
                    assert_eq!(comparable(result["item"].clone()), comparable(stored.clone()), "the stored row");
                    assert_eq!(comparable(row), comparable(stored.clone()), "the stored row is unchanged");
                }
                _ => assert_eq!(s, 404, "{id}: refused, not stored"),
            }
        }
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "increasing in order: {stamps:?}");
    }
}

#[tokio::test]
async fn a_batch_of_inserts_only_answers_each_on_sqlite() {
    a_batch_of_inserts_only_answers_each(Db::Sqlite).await;
}

#[tokio::test]
async fn a_batch_of_inserts_only_answers_each_on_postgres() {
    a_batch_of_inserts_only_answers_each(Db::Postgres).await;
}

/// A batch that names an id twice: each operation sees the ones before it.
async fn a_batch_with_an_id_twice_is_sequential(db: Db) {
    let server = start(db);
    let client = Client::new();
    let ops = json!({"operations": [
        {"op": "insert", "item": {"id": "d", "n": 1}},
        {"op": "insert", "item": {"id": "e", "n": 1}},
        {"op": "update", "id": "d", "item": {"n": 2}},
        {"op": "delete", "id": "d"},
        {"op": "insert", "item": {"id": "d", "n": 3}},
        {"op": "undelete", "id": "d"},
        {"op": "update", "id": "d", "item": {"n": 4}},
    ]});
    let (s, v) = send(&client, &server.url, Method::POST, "/tables/Item/$batch", None, Some(&ops)).await;
    assert_eq!(s, 200, "{v}");
    let results = v["results"].as_array().expect("results");
    let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 201, 200, 200, 409, 201, 200]);
    assert_eq!((results[4]["item"]["n"].as_i64(), results[4]["item"]["deleted"].as_bool()), (Some(2), Some(true)));
    assert_eq!(results[6]["item"]["n"].as_i64(), Some(4));
    let stamps: Vec<&str> =
        [0, 1, 2, 3, 5, 6].iter().map(|&i| results[i]["item"]["updatedAt"].as_str().expect("an updatedAt")).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "increasing in order: {stamps:?}");
}

#[tokio::test]
async fn a_batch_with_an_id_twice_is_sequential_on_sqlite() {
    a_batch_with_an_id_twice_is_sequential(Db::Sqlite).await;
}

#[tokio::test]
async fn a_batch_with_an_id_twice_is_sequential_on_postgres() {
    a_batch_with_an_id_twice_is_sequential(Db::Postgres).await;
}

/// Many single writes at once (so they are committed in groups), some failing in the middle: each
/// gets the answer it would get alone, the others are stored, every `updatedAt` is unique.
async fn concurrent_writes_with_failing_ones(db: Db) {
    let server = start(db);
    let client = Client::new();
    let (s, v) =
        send(&client, &server.url, Method::POST, "/tables/Item", None, Some(&json!({"id": "taken", "name": "x"})))
            .await;
    assert_eq!(s, 201, "{v}");
    let taken_version = v["version"].as_str().expect("a version").to_owned();
    for round in 0..3 {
        let requests = (0..40).map(|i| {
            let (client, url, taken_version) = (client.clone(), server.url.clone(), taken_version.clone());
            let id = format!("w{round}-{i}");
            async move {
                let (method, path, if_match, body) = match i {
                    // An existing id: 409 with the stored row.
                    10 => (Method::POST, "/tables/Item".to_owned(), None, json!({"id": "taken", "name": "y"})),
                    // A body the protocol refuses: 400 before any database.
                    15 => (Method::POST, "/tables/Item".to_owned(), None, json!({"id": id, "n": "many"})),
                    // A value PostgreSQL refuses in its statement: 400 there, stored on SQLite.
                    20 => (Method::POST, "/tables/Item".to_owned(), None, json!({"id": id, "name": "a\u{0}b"})),
                    // The same id as write 5: one of the two is a 409.
                    25 => (Method::POST, "/tables/Item".to_owned(), None, json!({"id": format!("w{round}-5")})),
                    // A stale If-Match: 412.
                    30 => (Method::PATCH, "/tables/Item/taken".to_owned(), Some("\"stale\""), json!({"name": "z"})),
                    // A current one: 200 in the first round only (then the version is new).
                    35 => (
                        Method::PATCH,
                        "/tables/Item/taken".to_owned(),
                        Some(taken_version.as_str()),
                        json!({"name": format!("r{round}")}),
                    ),
                    _ => (Method::POST, "/tables/Item".to_owned(), None, json!({"id": id, "n": i})),
                };
                let if_match = if_match.map(|m| if m.starts_with('"') { m.to_owned() } else { format!("\"{m}\"") });
                send(&client, &url, method, &path, if_match.as_deref(), Some(&body)).await
            }
        });
        let handles: Vec<_> = requests.map(tokio::spawn).collect();
        let mut answers = Vec::with_capacity(handles.len());
        for handle in handles {
            answers.push(handle.await.expect("a request task"));
        }
        let mut stamps = HashSet::new();
        for (i, (status, v)) in answers.iter().enumerate() {
            let expected = match i {
                10 => 409,
                15 => 400,
                20 if db == Db::Postgres => 400,
                30 => 412,
                35 if round > 0 => 412,
                35 => 200,
                5 | 25 => *status,
                _ => 201,
            };
            assert_eq!(*status, expected, "round {round}, write {i}: {v}");
            if matches!(status, 200 | 201) {
                assert!(stamps.insert(v["updatedAt"].as_str().expect("an updatedAt").to_owned()), "unique: {v}");
            }
            if i == 10 || i == 30 {
                assert_eq!(v["id"], "taken", "the stored row: {v}");
            }
        }
        let five: Vec<u16> = [5, 25].iter().map(|&i| answers[i].0).collect();
        assert!(five == [201, 409] || five == [409, 201], "{five:?}");
        for i in (0..40).filter(|i| ![5, 10, 15, 20, 25, 30, 35].contains(i)) {
            let (s, v) =
                send(&client, &server.url, Method::GET, &format!("/tables/Item/w{round}-{i}"), None, None).await;
            assert_eq!((s, v["n"].as_i64()), (200, Some(i)), "{v}");
        }
    }
    let (s, v) = send(&client, &server.url, Method::GET, "/tables/Item/taken", None, None).await;
    assert_eq!((s, v["name"].as_str()), (200, Some("r0")), "{v}");
}

#[tokio::test]
async fn concurrent_writes_with_failing_ones_on_sqlite() {
    concurrent_writes_with_failing_ones(Db::Sqlite).await;
}

#[tokio::test]
async fn concurrent_writes_with_failing_ones_on_postgres() {
    concurrent_writes_with_failing_ones(Db::Postgres).await;
}

/// Many single writes at once to distinct rows, so every group is decided at once (see
/// `storage::plan`): updates and deletes whose `If-Match` is stale, on rows no other write
/// touches, are a 412 with the stored row and leave it as it was; those whose `If-Match` is
/// current go ahead, and so do the inserts around them.
async fn concurrent_writes_to_distinct_rows_check_if_match(db: Db) {
    let server = start(db);
    let client = Client::new();
    let mut versions = Vec::new();
    for k in 0..16 {
        let body = json!({"id": format!("g{k}"), "name": "before"});
        let (s, v) = send(&client, &server.url, Method::POST, "/tables/Item", None, Some(&body)).await;
        assert_eq!(s, 201, "{v}");
        versions.push(v["version"].as_str().expect("a version").to_owned());
    }
    // Writes 0..8 update g0..g7, 8..16 delete g8..g15 (a stale If-Match on the even ones), the
    // others insert new rows.
    let requests = (0..40).map(|i: usize| {
        let (client, url) = (client.clone(), server.url.clone());
        let if_match = if i.is_multiple_of(2) {
            "\"stale\"".to_owned()
        } else {
            versions.get(i).map(|v| format!("\"{v}\"")).unwrap_or_default()
        };
        async move {
            match i {
                0..8 => {
                    let body = json!({"name": "after"});
                    send(&client, &url, Method::PATCH, &format!("/tables/Item/g{i}"), Some(&if_match), Some(&body))
                        .await
                }
                8..16 => {
                    send(&client, &url, Method::DELETE, &format!("/tables/Item/g{i}"), Some(&if_match), None).await
                }
                _ => {
                    send(&client, &url, Method::POST, "/tables/Item", None, Some(&json!({"id": format!("n{i}")}))).await
                }
            }
        }
    });
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    let mut answers = Vec::with_capacity(handles.len());
    for handle in handles {
        answers.push(handle.await.expect("a request task"));
    }
    for (i, (status, v)) in answers.iter().enumerate() {
        match i {
            0..16 if i.is_multiple_of(2) => {
                assert_eq!(*status, 412, "write {i}: {v}");
                assert_eq!(
                    (v["id"].as_str(), v["name"].as_str()),
                    (Some(format!("g{i}").as_str()), Some("before")),
                    "{v}"
                );
            }
            0..8 => assert_eq!((*status, v["name"].as_str()), (200, Some("after")), "write {i}: {v}"),
            8..16 => assert_eq!(*status, 200, "write {i}: {v}"),
            _ => assert_eq!(*status, 201, "write {i}: {v}"),
        }
    }
    for (k, version) in versions.iter().enumerate() {
        let (s, v) = send(&client, &server.url, Method::GET, &format!("/tables/Item/g{k}"), None, None).await;
        match k {
            _ if k.is_multiple_of(2) => assert_eq!(
                (s, v["name"].as_str(), v["version"].as_str()),
                (200, Some("before"), Some(version.as_str())),
                "unchanged: {v}"
            ),
            0..8 => assert_eq!((s, v["name"].as_str()), (200, Some("after")), "{v}"),
            _ => assert_eq!(s, 404, "deleted: {v}"),
        }
    }
}

#[tokio::test]
async fn concurrent_writes_to_distinct_rows_check_if_match_on_sqlite() {
    concurrent_writes_to_distinct_rows_check_if_match(Db::Sqlite).await;
}

#[tokio::test]
async fn concurrent_writes_to_distinct_rows_check_if_match_on_postgres() {
    concurrent_writes_to_distinct_rows_check_if_match(Db::Postgres).await;
}
