//! The two-device scenario of `two_devices.rs` against sync-server instead of the Node server: the
//! test starts sync-server in-process on 127.0.0.1 (a free port) with the `TodoItem` table on a
//! fresh SQLite file, drives the built `todo` binary as two devices (converge, conflict then
//! resolve, delete), and stops the server at the end.

mod common;

use sync_core::{Column, ColumnType, TableSchema};
use sync_server::{Server, TableOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_and_conflicts_resolve_through_sync_server() {
    let dir = tempfile::tempdir().unwrap();
    let schema = TableSchema::new(
        "TodoItem",
        vec![
            Column::new("text", ColumnType::String),
            Column::new("complete", ColumnType::Bool),
            Column::nullable("priority", ColumnType::Integer),
        ],
    )
    .unwrap();
    let server = Server::builder()
        .sqlite_file(dir.path().join("server.sqlite"))
        .schema(&schema, TableOptions::default())
        .build()
        .await
        .expect("sync-server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));

    let remote = backend_azure_rest::AzureRestRemote::builder(&url).build().unwrap();
    common::converge_conflict_resolve(&url, &remote).await;

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
