//! The four writes of the protocol from parsed input, shared by the single requests (`http`) and
//! `$batch` (`batch`), so both have the same rules and answers.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::protocol;
use crate::server::Inner;
use crate::storage::{Item, Write};
use crate::table::{TableDef, OWNER};

/// One write as a client asks for it.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// `POST /tables/{t}`.
    Insert {
        /// The item.
        body: Map<String, Value>,
    },
    /// `PATCH /tables/{t}/{id}`.
    Update {
        /// The id of the URL.
        id: String,
        /// The changes.
        body: Map<String, Value>,
        /// The `If-Match` header.
        if_match: Option<String>,
    },
    /// `DELETE /tables/{t}/{id}`.
    Delete {
        /// The id.
        id: String,
        /// The `If-Match` header.
        if_match: Option<String>,
    },
    /// `POST /tables/{t}/{id}`.
    Undelete {
        /// The id.
        id: String,
        /// The `If-Match` header.
        if_match: Option<String>,
    },
}

/// A `per_user` body may not name an owner: the server sets it.
fn check_no_owner(table: &TableDef, body: &Map<String, Value>) -> Result<(), Error> {
    if table.options.per_user && body.keys().any(|k| k.eq_ignore_ascii_case(OWNER)) {
        return Err(Error::bad_request(format!("{OWNER} is set by the server from the token")));
    }
    Ok(())
}

/// What a client sees of a row: a `per_user` table's owner column stays on the server.
pub(crate) fn scrub(table: &TableDef, mut item: Item) -> Item {
    if table.options.per_user {
        item.remove(OWNER);
    }
    item
}

/// Checks one write for `user` (the owner of a `per_user` table's rows) and turns it into the
/// backend's [`Write`], with the status a success answers.
async fn prepare(inner: &Inner, table: &TableDef, user: Option<&str>, op: Op) -> Result<(Write, StatusCode), Error> {
    Ok(match op {
        Op::Insert { body } => {
            check_no_owner(table, &body)?;
            let id = protocol::insert_id(&body)?;
            let columns = inner.backend.columns(table).await?;
            // `version` in an insert body is ignored: the server makes its own.
            let mut values = protocol::column_values(table, &columns, &body, "insert")?;
            if let Some(user) = user {
                values.push(protocol::owner_value(user));
            }
            (Write::Insert { id, values }, StatusCode::CREATED)
        }
        Op::Update { id, body, if_match } => {
            protocol::check_id(&id)?;
            check_no_owner(table, &body)?;
            protocol::check_body_id(&body, &id)?;
            let pre = protocol::precondition(if_match.as_deref(), protocol::body_version(&body)?)?;
            let columns = inner.backend.columns(table).await?;
            let values = protocol::column_values(table, &columns, &body, "update")?;
            (Write::Update { id, values, pre }, StatusCode::OK)
        }
        Op::Delete { id, if_match } => {
            protocol::check_id(&id)?;
            let pre = protocol::precondition(if_match.as_deref(), None)?;
            (Write::Delete { id, pre }, StatusCode::OK)
        }
        Op::Undelete { id, if_match } => {
            protocol::check_id(&id)?;
            if !table.options.soft_delete {
                return Err(Error::bad_request(format!(
                    "the table {} has no soft delete, so nothing to undelete",
                    table.name
                )));
            }
            let pre = protocol::precondition(if_match.as_deref(), None)?;
            (Write::Undelete { id, pre }, StatusCode::CREATED)
        }
    })
}

/// Runs one write for `user` (the owner of a `per_user` table's rows): the status and item to
/// answer with, or the error (a 409/412 carries the server's item, scrubbed).
pub(crate) async fn run(
    inner: &Inner,
    table: &TableDef,
    user: Option<&str>,
    op: Op,
) -> Result<(StatusCode, Item), Error> {
    let (write, status) = prepare(inner, table, user, op).await?;
    match inner.backend.write(table, write, user).await {
        Ok(item) => Ok((status, scrub(table, item))),
        Err(e) => Err(e.map_item(|i| scrub(table, i))),
    }
}

/// Runs writes in order, each answered as [`run`] answers it alone, committed together
/// ([`Backend::write_many`](crate::storage::Backend::write_many)). A dynamic table's writes run
/// one by one instead: each may add the columns the next one is checked against. The outer
/// error is for the whole (nothing was committed).
pub(crate) async fn run_many(
    inner: &Inner,
    table: &TableDef,
    user: Option<&str>,
    ops: Vec<Op>,
) -> Result<Vec<Result<(StatusCode, Item), Error>>, Error> {
    if table.dynamic {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(run(inner, table, user, op).await);
        }
        return Ok(out);
    }
    let mut writes = Vec::with_capacity(ops.len());
    let mut statuses = Vec::with_capacity(ops.len());
    for op in ops {
        match prepare(inner, table, user, op).await {
            Ok((write, status)) => {
                writes.push(Ok(write));
                statuses.push(status);
            }
            Err(e) => {
                writes.push(Err(e));
                statuses.push(StatusCode::OK);
            }
        }
    }
    let results = inner.backend.write_many(table, writes, user).await?;
    Ok(results
        .into_iter()
        .zip(statuses)
        .map(|(result, status)| match result {
            Ok(item) => Ok((status, scrub(table, item))),
            Err(e) => Err(e.map_item(|i| scrub(table, i))),
        })
        .collect())
}
