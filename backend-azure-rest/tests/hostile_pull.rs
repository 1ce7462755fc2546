//! Pulls against loopback servers that break the keyset contract on purpose: one that ignores
//! `$filter` (the same rows every time), one that answers a row per page with `Link: rel=next`
//! but never moves on, one that sorts descending. Each pull ends at once with a protocol error
//! that says what the server did, instead of running for ever.

mod support;

use std::time::Duration;

use backend_azure_rest::AzureRestRemote;
use serde_json::json;
use support::{http, serve};
use sync_core::conformance::scenarios::item_schema;
use sync_core::{ErrorKind, PullOptions, Query, RetryPolicy, SyncContext, SyncOptions};

fn rows(ids: &[(&str, &str)]) -> String {
    let rows: Vec<_> = ids
        .iter()
        .map(|(id, t)| {
            json!({"id": id, "name": "x", "n": 1, "flag": false, "updatedAt": t, "createdAt": t,
                              "version": "MQ==", "deleted": false})
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

async fn pull_from(url: &str, page_size: u64) -> (sync_core::SyncError, std::time::Duration) {
    pull_with(AzureRestRemote::builder(url).build().unwrap(), page_size).await
}

async fn pull_with(remote: AzureRestRemote, page_size: u64) -> (sync_core::SyncError, std::time::Duration) {
    let options = SyncOptions::default().page_size(page_size).retry(RetryPolicy::none());
    let ctx = SyncContext::builder(store_diesel::DieselStore::open_in_memory().await.unwrap())
        .remote(remote)
        .options(options)
        .build()
        .await
        .unwrap();
    let items = ctx.json_table(item_schema()).await.unwrap();
    let start = std::time::Instant::now();
    let outcome =
        tokio::time::timeout(Duration::from_secs(20), items.pull(&Query::new(), PullOptions::incremental("q"))).await;
    let err = outcome.expect("the pull ends").unwrap_err();
    (err, start.elapsed())
}

#[tokio::test]
async fn a_server_that_ignores_the_filter_ends_the_pull_with_a_protocol_error() {
    let same: Vec<(String, String)> =
        (0..50).map(|i| (format!("r{i:02}"), "2024-01-01T00:00:00.000Z".to_owned())).collect();
    let refs: Vec<(&str, &str)> = same.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (url, seen) = serve(vec![http("200 OK", &[("Content-Type", "application/json")], &rows(&refs))]).await;
    let (err, _) = pull_from(&url, 50).await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    // The first page is full, so the rows of its timestamp are read by id next: the same rows
    // again, then again after the last id, which gives the server away.
    assert!(err.to_string().contains("ignores the id filter"), "{err}");
    assert!(seen.lock().unwrap().len() <= 3, "{} requests", seen.lock().unwrap().len());
}

#[tokio::test]
async fn a_server_that_ignores_the_filter_is_caught_by_the_keyset_check_too() {
    let same: Vec<(String, String)> =
        (0..50).map(|i| (format!("r{i:02}"), "2024-01-01T00:00:00.000Z".to_owned())).collect();
    let refs: Vec<(&str, &str)> = same.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (url, seen) = serve(vec![http("200 OK", &[("Content-Type", "application/json")], &rows(&refs))]).await;
    let remote = AzureRestRemote::builder(&url).exact_timestamps(true).build().unwrap();
    let (err, _) = pull_with(remote, 50).await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("does not advance past the cursor"), "{err}");
    assert!(seen.lock().unwrap().len() <= 3, "{} requests", seen.lock().unwrap().len());
}

#[tokio::test]
async fn a_server_that_repeats_one_row_with_a_next_link_ends_the_pull() {
    let body = rows(&[("only", "2024-01-01T00:00:00.000Z")]);
    let link = ("Link", "<http://127.0.0.1/tables/Item?page=2>; rel=next");
    let (url, seen) = serve(vec![http("200 OK", &[("Content-Type", "application/json"), link], &body)]).await;
    let (err, _) = pull_from(&url, 1000).await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(seen.lock().unwrap().len() <= 3);
}

#[tokio::test]
async fn a_server_that_sorts_descending_ends_the_pull_on_its_first_page() {
    let body = rows(&[("b", "2024-01-02T00:00:00.000Z"), ("a", "2024-01-01T00:00:00.000Z")]);
    let (url, seen) = serve(vec![http("200 OK", &[("Content-Type", "application/json")], &body)]).await;
    let (err, _) = pull_from(&url, 1000).await;
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(err.to_string().contains("out of (updatedAt, id) order"), "{err}");
    assert!(seen.lock().unwrap().len() <= 2);
}
