//! Pull (keyset incremental sync, DESIGN §5) and purge.

use std::sync::Arc;

use super::context::Inner;
use super::events::{PullSummary, SyncEvent};
use super::retry::with_retry;
use crate::error::{QueryError, SyncError};
use crate::operation::OperationFilter;
use crate::query::expr::Query;
use crate::query::resolve::resolve_query;
use crate::queue::apply_pull_page;
use crate::record::Record;
use crate::remote::Cursor;
use crate::schema::TableSchema;
use crate::store::StoreExt;

/// The config key of a query id's cursor (named like the .NET client's delta tokens). The
/// closing `|` makes every key a unique prefix (query ids cannot hold `|`), so
/// [`Transaction::remove_config`](crate::Transaction::remove_config) removes exactly one cursor,
/// and `deltaToken|{table}|` removes all of a table's.
pub(crate) fn cursor_key(table: &str, query_id: &str) -> String {
    format!("deltaToken|{table}|{query_id}|")
}

fn table_cursors_prefix(table: &str) -> String {
    format!("deltaToken|{table}|")
}

fn check_query_id(query_id: &str) -> Result<(), SyncError> {
    if query_id.is_empty() || query_id.len() > 255 || query_id.contains('|') {
        return Err(SyncError::InvalidQueryId(query_id.to_owned()));
    }
    Ok(())
}

/// Pull queries may only filter: the engine owns ordering, paging and projection.
fn check_pull_query(query: &Query) -> Result<(), SyncError> {
    let not_allowed =
        |what: &str| Err(SyncError::Query(QueryError::NotAllowed(format!("a pull query cannot use {what}"))));
    if !query.order_by.is_empty() {
        return not_allowed("order_by (pull orders by updatedAt, id)");
    }
    if query.skip.is_some() || query.top.is_some() {
        return not_allowed("skip/top (pull pages by itself; set SyncOptions::page_size)");
    }
    if query.select.is_some() {
        return not_allowed("select");
    }
    if query.include_total_count {
        return not_allowed("a total count");
    }
    Ok(())
}

pub(crate) async fn pull(
    inner: &Inner,
    schema: &Arc<TableSchema>,
    query: &Query,
    query_id: Option<&str>,
) -> Result<PullSummary, SyncError> {
    let remote = inner.remote.clone().ok_or(SyncError::NoRemote)?;
    check_pull_query(query)?;
    if let Some(id) = query_id {
        check_query_id(id)?;
    }
    let filter = resolve_query(query, schema)?.filter;
    let table = schema.name().to_owned();

    if inner.options.push_before_pull {
        let guard = inner.push_lock.lock().await;
        let pending_filter = OperationFilter::table(&table);
        let pending = inner.store.transact(move |tx| tx.count_operations(&pending_filter)).await?;
        if pending > 0 {
            super::push::push_locked(inner, &remote, Some(vec![table.clone()])).await?;
        }
        drop(guard);
    }

    inner.events.emit(SyncEvent::PullStarted { table: table.clone(), query_id: query_id.map(str::to_owned) });
    let key = query_id.map(|id| cursor_key(&table, id));
    let mut cursor: Option<Cursor> = match &key {
        Some(key) => {
            let k = key.clone();
            match inner.store.transact(move |tx| tx.config(&k)).await? {
                // An unreadable cursor starts over: a full re-download is safe, a skipped row is not.
                Some(text) => serde_json::from_str(&text).ok(),
                None => None,
            }
        }
        None => None,
    };

    let page_size = inner.options.page_size;
    let mut summary = PullSummary { table: table.clone(), ..Default::default() };
    let fetch = |cursor: Option<Cursor>| {
        let (remote, table, filter) = (&remote, &table, filter.as_ref());
        async move {
            with_retry(&inner.options.retry, || remote.query_page(table, filter, cursor.as_ref(), page_size)).await
        }
    };
    let mut next_page = Some(fetch(cursor.take()).await);
    while let Some(page) = next_page.take() {
        let page = page?;
        summary.requests += 1;
        let received = page.items.len() as u64;
        let Some(last) = page.items.last() else { break };
        let next = Cursor::after(last).ok_or_else(|| SyncError::InvalidServerRow {
            table: table.clone(),
            source: crate::error::RecordError::NullValue { column: crate::schema::system::UPDATED_AT.to_owned() },
        })?;
        let more = received >= page_size || page.has_next_link;
        let saved = key.as_ref().map(|key| (key.clone(), serde_json::to_string(&next).unwrap_or_default()));
        let (page_table, page_schema) = (table.clone(), Arc::clone(schema));
        // Checking rows against the schema happens inside the transaction's work, off the async
        // task, while the next page is already on its way.
        let store_page = inner.store.transact(move |tx| {
            let rows =
                match page.items.into_iter().map(|r| page_schema.conform_remote(r)).collect::<Result<Vec<Record>, _>>()
                {
                    Ok(rows) => rows,
                    Err(source) => return Ok(Err(SyncError::InvalidServerRow { table: page_table, source })),
                };
            let cursor = saved.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
            Ok(Ok(apply_pull_page(tx, &page_table, &rows, cursor)?))
        });
        // The next page depends only on this page's last row: fetch it while this one is stored.
        let outcome = if more {
            let (stored, fetched) = tokio::join!(store_page, fetch(Some(next)));
            next_page = Some(fetched);
            stored??
        } else {
            store_page.await??
        };
        summary.rows += received;
        summary.upserted += outcome.upserted;
        summary.deleted += outcome.deleted;
        summary.skipped += outcome.skipped;
        inner.events.emit(SyncEvent::PagePulled {
            table: table.clone(),
            rows: received,
            total_rows: summary.rows,
            pages: summary.requests,
        });
    }
    inner.events.emit(SyncEvent::PullFinished(summary.clone()));
    Ok(summary)
}

/// Purge as the .NET client does: refuse when the table has queued operations, unless `force`
/// with no filter, which also drops the table's operations, errors and every cursor; reset the
/// query id's cursor; delete the matching local rows. All in one transaction.
pub(crate) async fn purge(
    inner: &Inner,
    schema: &Arc<TableSchema>,
    query: &Query,
    query_id: Option<&str>,
    force: bool,
) -> Result<u64, SyncError> {
    if let Some(id) = query_id {
        check_query_id(id)?;
    }
    let filter = resolve_query(query, schema)?.filter;
    let table = schema.name().to_owned();
    let query_key = query_id.map(|id| cursor_key(&table, id));
    // Purge runs between pushes: an operation in flight must not vanish under the push.
    let _no_push = inner.push_lock.lock().await;
    let outcome = inner
        .store
        .transact(move |tx| {
            let ops_filter = OperationFilter::table(&table);
            let pending = tx.count_operations(&ops_filter)?;
            if pending > 0 && !(force && filter.is_none()) {
                return Ok(Err(SyncError::PurgeBlocked { table, pending }));
            }
            if force {
                for op in tx.operations(&ops_filter)? {
                    tx.remove_operation(op.id)?;
                    tx.remove_error(op.id)?;
                }
                for error in tx.errors(Some(&table))? {
                    tx.remove_error(error.operation_id)?;
                }
                tx.remove_config(&table_cursors_prefix(&table))?;
            }
            if let Some(key) = &query_key {
                tx.remove_config(key)?;
            }
            Ok(Ok(tx.delete_matching(&table, filter.as_ref())?))
        })
        .await?;
    outcome
}
