//! Cases for the single-item operations: insert, read, update, delete (`docs/protocol.md`, "Routes and
//! status codes" to "Soft delete").

use serde_json::{json, Value};

use super::support::{assert_fields, assert_system_columns, expect_err, num, ok, patch, set, text, Case};
use super::RemoteFactory;
use crate::error::RemoteErrorKind;
use crate::query::expr::column;
use crate::schema::system;

const ITEM: &str = "Item";

/// Insert answers with the stored item: the fields sent, plus `createdAt`, `updatedAt`,
/// `version` (non-empty strings) and `deleted: false`.
pub async fn insert_returns_the_item_with_system_columns(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let item = c.item("a", json!({"n": 42, "flag": true}));
    let stored = c.insert(ITEM, &item).await;
    assert_eq!(stored.id(), item.id(), "insert must keep the id");
    assert_system_columns(&stored, "insert");
    assert_fields(&stored, item.as_map(), "insert");
    let other = c.insert(ITEM, &c.item("b", json!({"n": 1.5, "flag": false}))).await;
    assert_eq!(num(&other, "n"), Some(1.5), "insert must keep a real number");
    assert_eq!(other.get("flag"), Some(&Value::Bool(false)), "booleans must come back as JSON booleans");
}

/// The engine hands the remote its local rows, which carry `createdAt`, `updatedAt`, `version`
/// and `deleted`; the remote sends none of them (the server rejects or misreads them) and the
/// stored item has the server's values.
pub async fn insert_drops_server_owned_columns_of_local_rows(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let mut local = c.item("a", json!({"n": 1}));
    let stale = "2001-01-01T00:00:00.000Z";
    for (col, value) in [
        (system::CREATED_AT, json!(stale)),
        (system::UPDATED_AT, json!(stale)),
        (system::VERSION, json!("Y2xpZW50")),
        (system::DELETED, json!(false)),
    ] {
        set(&mut local, col, value);
    }
    let stored = c.insert(ITEM, &local).await;
    assert_system_columns(&stored, "insert of a local row");
    assert_ne!(stored.updated_at(), Some(stale), "updatedAt is the server's, never the client's");
    assert_ne!(stored.version(), Some("Y2xpZW50"), "version is the server's, never the client's");
    let mut null_system = c.item("b", json!({}));
    for col in system::SERVER_OWNED {
        set(&mut null_system, col, Value::Null);
    }
    let stored = c.insert(ITEM, &null_system).await;
    assert_system_columns(&stored, "insert of a local row with null system columns");
}

/// Inserting an id the server already holds is a 409 conflict.
pub async fn insert_of_an_existing_id_is_conflict_409(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let item = c.item("a", json!({"n": 1}));
    let stored = c.insert(ITEM, &item).await;
    let again = c.item("a", json!({"n": 2}));
    expect_err(c.remote.insert(ITEM, &again).await, RemoteErrorKind::Conflict, Some(409), "insert of an existing id");
    let now = c.read(ITEM, item.id()).await;
    assert_eq!(num(&now, "n"), Some(1.0), "a rejected insert must not change the item");
    assert_eq!(now.version(), stored.version(), "a rejected insert must not bump the version");
}

/// A soft-deleted id stays taken: inserting it again is a 409.
pub async fn insert_of_a_soft_deleted_id_is_conflict_409(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let item = c.item("a", json!({}));
    let stored = c.insert(ITEM, &item).await;
    ok(c.remote.delete(ITEM, item.id(), stored.version()).await, "delete");
    expect_err(c.remote.insert(ITEM, &item).await, RemoteErrorKind::Conflict, Some(409), "insert of a deleted id");
    expect_err(c.remote.read(ITEM, item.id()).await, RemoteErrorKind::NotFound, Some(404), "read after the 409");
}

/// Read returns what insert returned.
pub async fn read_returns_the_stored_item(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let stored = c.insert("TodoItem", &c.record("a", "text", json!({"complete": true}))).await;
    let read = c.read("TodoItem", stored.id()).await;
    assert_eq!(read.id(), stored.id());
    assert_eq!(read.version(), stored.version(), "read must return the stored version");
    assert_eq!(read.updated_at(), stored.updated_at(), "read must return the stored updatedAt");
    assert_eq!(read.get("complete"), Some(&Value::Bool(true)));
    assert_eq!(text(&read, "text"), Some(c.marker.as_str()));
    assert_system_columns(&read, "read");
}

/// Reading an id the server never had is a 404.
pub async fn read_of_a_missing_item_is_not_found(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    expect_err(c.remote.read(ITEM, &c.id("nope")).await, RemoteErrorKind::NotFound, Some(404), "read of a missing id");
}

/// Update sends the changed fields: the others keep their values, `version` changes,
/// `updatedAt` does not go back, `createdAt` stays.
pub async fn update_merges_fields_and_bumps_the_version(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let v1 = c.insert(ITEM, &c.item("a", json!({"n": 1, "flag": true}))).await;
    let v2 = ok(c.remote.update(ITEM, &patch(v1.id(), json!({"n": 2})), v1.version()).await, "update");
    assert_eq!(num(&v2, "n"), Some(2.0), "update must apply the sent field");
    assert_eq!(text(&v2, "name"), Some(c.marker.as_str()), "update must keep fields it was not sent");
    assert_eq!(v2.get("flag"), Some(&Value::Bool(true)), "update must keep fields it was not sent");
    assert_ne!(v2.version(), v1.version(), "update must change the version");
    assert!(v2.updated_at() >= v1.updated_at(), "updatedAt went back: {:?} -> {:?}", v1.updated_at(), v2.updated_at());
    assert_eq!(v2.get(system::CREATED_AT), v1.get(system::CREATED_AT), "update must keep createdAt");
    assert_system_columns(&v2, "update");
    let read = c.read(ITEM, v1.id()).await;
    assert_eq!(read.version(), v2.version(), "read after update must return the new version");
    assert_eq!(num(&read, "n"), Some(2.0));
    // The whole local row (with its system columns) is a valid update too.
    let mut local = read.clone();
    set(&mut local, "flag", json!(false));
    let v3 = ok(c.remote.update(ITEM, &local, read.version()).await, "update with a whole local row");
    assert_eq!(v3.get("flag"), Some(&Value::Bool(false)));
    assert_ne!(v3.version(), v2.version());
}

/// `If-Match` with an old version is a 412 carrying the server's current item; nothing changes.
pub async fn update_with_a_stale_version_is_conflict_412_with_the_server_item(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let v1 = c.insert(ITEM, &c.item("a", json!({"n": 1}))).await;
    let v2 = ok(c.remote.update(ITEM, &patch(v1.id(), json!({"n": 2})), v1.version()).await, "first update");
    let err = expect_err(
        c.remote.update(ITEM, &patch(v1.id(), json!({"n": 3})), v1.version()).await,
        RemoteErrorKind::Conflict,
        Some(412),
        "update with a stale version",
    );
    let server = err.server_item().unwrap_or_else(|| panic!("a 412 must carry the server's item: {err:?}"));
    assert_eq!(server.id(), v1.id());
    assert_eq!(server.version(), v2.version(), "the 412's item must be the current one");
    assert_eq!(num(server, "n"), Some(2.0), "the 412's item must be the current one");
    let now = c.read(ITEM, v1.id()).await;
    assert_eq!(now.version(), v2.version(), "a rejected update must change nothing");
    assert_eq!(num(&now, "n"), Some(2.0), "a rejected update must change nothing");
}

/// Without a version the update is applied whatever the server holds (last writer wins).
pub async fn update_without_a_version_overwrites(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let v1 = c.insert(ITEM, &c.item("a", json!({"n": 1}))).await;
    ok(c.remote.update(ITEM, &patch(v1.id(), json!({"n": 2})), v1.version()).await, "first update");
    let v3 = ok(c.remote.update(ITEM, &patch(v1.id(), json!({"n": 3})), None).await, "update without version");
    assert_eq!(num(&v3, "n"), Some(3.0));
}

/// Updating an id the server never had is a 404.
pub async fn update_of_a_missing_item_is_not_found(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let item = c.item("nope", json!({"n": 1}));
    expect_err(
        c.remote.update(ITEM, &item, None).await,
        RemoteErrorKind::NotFound,
        Some(404),
        "update of a missing id",
    );
    expect_err(c.remote.read(ITEM, item.id()).await, RemoteErrorKind::NotFound, Some(404), "update must not create");
}

/// Updating a soft-deleted item is a 404, with or without its version.
pub async fn update_of_a_soft_deleted_item_is_not_found(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let v1 = c.insert(ITEM, &c.item("a", json!({"n": 1}))).await;
    ok(c.remote.delete(ITEM, v1.id(), v1.version()).await, "delete");
    let edit = patch(v1.id(), json!({"n": 2}));
    expect_err(
        c.remote.update(ITEM, &edit, None).await,
        RemoteErrorKind::NotFound,
        Some(404),
        "update of a deleted id",
    );
    let deleted = c.all(ITEM, &column(system::ID).eq(v1.id())).await;
    assert_eq!(deleted.len(), 1, "the deleted row must still be queryable");
    expect_err(
        c.remote.update(ITEM, &edit, deleted[0].version()).await,
        RemoteErrorKind::NotFound,
        Some(404),
        "update of a deleted id with its current version",
    );
}

/// Delete with the right version soft-deletes: read is a 404, and `query_page` returns the row
/// with `deleted: true`, a new version and its fields.
pub async fn delete_is_soft_and_shows_in_queries(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let v1 = c.insert(ITEM, &c.item("a", json!({"n": 7}))).await;
    ok(c.remote.delete(ITEM, v1.id(), v1.version()).await, "delete with the current version");
    expect_err(c.remote.read(ITEM, v1.id()).await, RemoteErrorKind::NotFound, Some(404), "read after delete");
    let rows = c.all(ITEM, &c.mine("name")).await;
    assert_eq!(rows.len(), 1, "query_page must return soft-deleted rows: {rows:?}");
    let row = &rows[0];
    assert_eq!(row.id(), v1.id());
    assert!(row.is_deleted(), "the row must have deleted: true: {row:?}");
    assert_ne!(row.version(), v1.version(), "delete must change the version");
    assert!(row.updated_at() >= v1.updated_at(), "delete must not move updatedAt back");
    assert_eq!(num(row, "n"), Some(7.0), "a soft-deleted row keeps its fields");
}

/// Delete with an old version is a 412 with the server's item; the item stays.
pub async fn delete_with_a_stale_version_is_conflict_412_with_the_server_item(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let v1 = c.insert(ITEM, &c.item("a", json!({"n": 1}))).await;
    let v2 = ok(c.remote.update(ITEM, &patch(v1.id(), json!({"n": 2})), None).await, "update");
    let err = expect_err(
        c.remote.delete(ITEM, v1.id(), v1.version()).await,
        RemoteErrorKind::Conflict,
        Some(412),
        "delete with a stale version",
    );
    let server = err.server_item().unwrap_or_else(|| panic!("a 412 must carry the server's item: {err:?}"));
    assert_eq!(server.version(), v2.version(), "the 412's item must be the current one");
    let now = c.read(ITEM, v1.id()).await;
    assert!(!now.is_deleted());
    assert_eq!(now.version(), v2.version(), "a rejected delete must change nothing");
}

/// Deleting an id the server never had is a 404.
pub async fn delete_of_a_missing_item_is_not_found(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    expect_err(
        c.remote.delete(ITEM, &c.id("nope"), None).await,
        RemoteErrorKind::NotFound,
        Some(404),
        "delete of a missing id",
    );
}

/// Deleting a soft-deleted item again is a 404.
pub async fn delete_twice_is_not_found(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let v1 = c.insert(ITEM, &c.item("a", json!({}))).await;
    ok(c.remote.delete(ITEM, v1.id(), None).await, "first delete");
    expect_err(c.remote.delete(ITEM, v1.id(), None).await, RemoteErrorKind::NotFound, Some(404), "second delete");
}

/// Ids travel in URL paths and filters: ids holding `'`, `%`, `&`, `#`, `=`, `;`, spaces and
/// non-ASCII text work for insert, read, update, delete and `id eq` filters.
pub async fn ids_with_awkward_characters_round_trip(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    for (i, suffix) in ["it's", "o''k", "100%", "%41", "a&b", "x#y", "k=v;w", "sp ace", "é-中文-🦀", "a.b", "~!@$*()"]
        .into_iter()
        .enumerate()
    {
        let doing = |step: &str| format!("{step} of id {:?}", c.id(suffix));
        let v1 = c.insert(ITEM, &c.item(suffix, json!({"n": i}))).await;
        assert_eq!(v1.id(), c.id(suffix), "{}", doing("insert"));
        let read = c.read(ITEM, &c.id(suffix)).await;
        assert_eq!(read.id(), c.id(suffix), "{}", doing("read"));
        let by_filter = c.all(ITEM, &column(system::ID).eq(c.id(suffix))).await;
        assert_eq!(by_filter.len(), 1, "{}: {by_filter:?}", doing("id eq filter"));
        let v2 =
            ok(c.remote.update(ITEM, &patch(&c.id(suffix), json!({"n": 100})), v1.version()).await, &doing("update"));
        assert_eq!(num(&v2, "n"), Some(100.0), "{}", doing("update"));
        ok(c.remote.delete(ITEM, &c.id(suffix), v2.version()).await, &doing("delete"));
        expect_err(
            c.remote.read(ITEM, &c.id(suffix)).await,
            RemoteErrorKind::NotFound,
            Some(404),
            &doing("read after delete"),
        );
    }
}
