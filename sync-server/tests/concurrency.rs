//! Two sync-server instances on one PostgreSQL database, 8 clients updating the same 100 items
//! with `If-Match` for a fixed number of rounds. Every write is applied (200) or refused (412);
//! per item the applied writes form one chain (each was made against the version the previous one
//! produced, so none was lost); the final state is the last applied write of each item; and every
//! `updatedAt` handed out is unique.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use common::{fresh_postgres_database, Target, TestServer, CONFORMANCE_TABLES};
use reqwest::Client;
use serde_json::{json, Value};

const CLIENTS: usize = 8;
const ITEMS: usize = 100;
const ROUNDS: usize = 5;

/// One applied write: the version it was made against, and what it produced.
#[derive(Debug, Clone)]
struct Applied {
    against: String,
    version: String,
    updated_at: String,
    name: String,
}

async fn patch(client: &Client, base: &str, id: &str, if_match: &str, name: &str) -> (u16, Value) {
    let resp = client
        .patch(format!("{base}/tables/Item/{id}"))
        .header("ZUMO-API-VERSION", "2.0.0")
        .header("If-Match", format!("\"{if_match}\""))
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_eight_clients_if_match_loses_nothing() {
    let url = fresh_postgres_database();
    let servers = [
        TestServer::on(CONFORMANCE_TABLES, Target::Url(url.clone()), |b| b),
        TestServer::on(CONFORMANCE_TABLES, Target::Url(url), |b| b),
    ];
    let client = Client::new();
    let mut seed_versions = HashMap::new();
    let mut stamps = HashSet::new();
    for i in 0..ITEMS {
        let id = format!("c{i:03}");
        let resp = client
            .post(format!("{}/tables/Item", servers[i % 2].url))
            .header("ZUMO-API-VERSION", "2.0.0")
            .json(&json!({ "id": id, "name": "seed" }))
            .send()
            .await
            .expect("insert");
        assert_eq!(resp.status(), 201);
        let v: Value = resp.json().await.expect("JSON");
        assert!(stamps.insert(v["updatedAt"].as_str().unwrap().to_owned()));
        seed_versions.insert(id, v["version"].as_str().unwrap().to_owned());
    }
    let seed_versions = Arc::new(seed_versions);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let base = servers[c % 2].url.clone();
        let seeds = Arc::clone(&seed_versions);
        tasks.push(tokio::spawn(async move {
            let client = Client::new();
            // What this client believes each item's version is: the seed's, then the last answer's.
            let mut known: HashMap<String, String> = (*seeds).clone();
            let mut applied: Vec<(String, Applied)> = Vec::new();
            let mut refused = 0usize;
            for round in 0..ROUNDS {
                for k in 0..ITEMS {
                    // Each client walks the items from its own starting point.
                    let id = format!("c{:03}", (k + c * 13) % ITEMS);
                    let against = known[&id].clone();
                    let name = format!("client{c}-round{round}-{id}");
                    let (status, body) = patch(&client, &base, &id, &against, &name).await;
                    let version = body["version"].as_str().expect("a version").to_owned();
                    match status {
                        200 => {
                            assert_eq!(body["name"], json!(name));
                            let updated_at = body["updatedAt"].as_str().unwrap().to_owned();
                            applied.push((id.clone(), Applied { against, version: version.clone(), updated_at, name }));
                        }
                        412 => refused += 1,
                        other => panic!("PATCH {id}: {other} {body}"),
                    }
                    known.insert(id, version);
                }
            }
            (applied, refused)
        }));
    }
    let mut by_item: HashMap<String, Vec<Applied>> = HashMap::new();
    let mut refused = 0;
    for t in tasks {
        let (applied, r) = t.await.expect("a client");
        refused += r;
        for (id, a) in applied {
            by_item.entry(id).or_default().push(a);
        }
    }
    let applied: usize = by_item.values().map(Vec::len).sum();
    eprintln!("concurrency: {applied} writes applied, {refused} refused with 412");
    assert_eq!(applied + refused, CLIENTS * ROUNDS * ITEMS, "every write is applied or refused");
    assert!(refused > 0, "the clients did race");
    // The final state, read through the other server.
    let resp = client
        .get(format!("{}/tables/Item?$filter=startswith(id,'c')&$top=1000", servers[1].url))
        .header("ZUMO-API-VERSION", "2.0.0")
        .send()
        .await
        .expect("query");
    let rows: Vec<Value> = resp.json().await.expect("rows");
    assert_eq!(rows.len(), ITEMS);
    for row in &rows {
        let id = row["id"].as_str().unwrap();
        let mut chain = by_item.remove(id).unwrap_or_default();
        chain.sort_by(|a, b| a.updated_at.cmp(&b.updated_at));
        let mut expected_version = seed_versions[id].clone();
        for a in &chain {
            assert_eq!(a.against, expected_version, "{id}: an applied write was not made against the latest version");
            assert!(stamps.insert(a.updated_at.clone()), "updatedAt {} handed out twice", a.updated_at);
            expected_version = a.version.clone();
        }
        assert_eq!(row["version"], json!(expected_version), "{id}: the final version is the last applied write's");
        let name = chain.last().map_or("seed", |a| a.name.as_str());
        assert_eq!(row["name"], json!(name), "{id}: the final value is the last applied write's");
    }
    let finals: HashSet<&str> = rows.iter().map(|r| r["updatedAt"].as_str().unwrap()).collect();
    assert_eq!(finals.len(), ITEMS, "the rows' updatedAt values are unique");
}
