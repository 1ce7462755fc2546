//! Pull: keyset incremental sync (`docs/architecture.md`, "Pull with the keyset cursor"). Pages
//! are fetched one ahead; each is stored with its cursor in one transaction.

use std::sync::Arc;

use super::events::{PullSummary, SyncEvent};
use super::options::PullOptions;
use super::rejected::RejectedRow;
use super::retry::with_retry;
use super::shared::Shared;
use crate::cursor::{check_page_order, check_query_id, Cursor};
use crate::error::{QueryError, RecordError, RemoteError, SyncError};
use crate::operation::OperationFilter;
use crate::query::expr::Query;
use crate::query::odata::odata_filter;
use crate::query::resolve::resolve_query;
use crate::queue::apply_pull_page;
use crate::record::Record;
use crate::schema::{system, TableSchema};
use crate::store::StoreExt;

/// Pull queries may only filter: the engine owns ordering, paging and projection.
fn check_pull_query(query: &Query) -> Result<(), SyncError> {
    let not_allowed =
        |what: &str| Err(SyncError::Query(QueryError::NotAllowed(format!("a pull query cannot use {what}"))));
    if !query.order_by.is_empty() {
        return not_allowed("order_by (pull orders by updatedAt, id)");
    }
    if query.skip.is_some() || query.top.is_some() {
        return not_allowed("skip/top (pull pages by itself; set PullOptions::page_size)");
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
    shared: &Shared,
    schema: &Arc<TableSchema>,
    query: &Query,
    options: PullOptions,
) -> Result<PullSummary, SyncError> {
    let remote = shared.remote()?;
    check_pull_query(query)?;
    let query_id = options.query_id;
    check_query_id(query_id.as_deref())?;
    let filter = resolve_query(query, schema)?.filter;
    let table = schema.name().to_owned();

    if options.push_first.unwrap_or(shared.options.push_before_pull) {
        let guard = shared.lock_push().await?;
        let pending_filter = OperationFilter::table(&table);
        let pending = shared.store.transact(move |tx| tx.count_operations(&pending_filter)).await?;
        if pending > 0 {
            super::push_scheduler::push_locked(shared, &remote, Some(vec![table.clone()])).await?;
        }
        drop(guard);
    }

    shared.events.emit(SyncEvent::PullStarted { table: table.clone(), query_id: query_id.clone() });
    let mut cursor: Option<Cursor> = match &query_id {
        Some(id) => {
            let (t, id) = (table.clone(), id.clone());
            let filter_key = filter.as_ref().map(odata_filter).unwrap_or_default();
            shared.store.transact(move |tx| Cursor::load_for_filter(tx, &t, &id, &filter_key)).await?
        }
        None => None,
    };

    let mut page_size = options.page_size.unwrap_or(shared.options.page_size).max(1);
    let mut summary = PullSummary { table: table.clone(), ..Default::default() };
    let fetch = |cursor: Option<Cursor>, page_size: u64| {
        let (remote, table, filter) = (&remote, &table, filter.as_ref());
        async move {
            with_retry(&shared.options.retry, || remote.query_page(table, filter, cursor.as_ref(), page_size)).await
        }
    };
    let mut previous = cursor.clone();
    let mut next_page = Some(fetch(cursor.take(), page_size).await);
    while let Some(page) = next_page.take() {
        let page = match page {
            // Rows too big for the remote's body limit: ask for half as many, down to one row.
            Err(RemoteError::TooLarge { .. }) if page_size > 1 => {
                page_size = (page_size / 2).max(1);
                tracing::info!(table = %table, page_size, "a page was over the body limit: asking for smaller pages");
                shared.events.emit(SyncEvent::PageSizeReduced { table: table.clone(), page_size });
                next_page = Some(fetch(previous.clone(), page_size).await);
                continue;
            }
            other => other?,
        };
        summary.requests += 1;
        check_page_order(previous.as_ref(), &page.items)?;
        let received = page.items.len() as u64;
        let Some(last) = page.items.last() else { break };
        let next = Cursor::after(last).ok_or_else(|| SyncError::InvalidServerRow {
            table: table.clone(),
            source: RecordError::NullValue { column: system::UPDATED_AT.to_owned() },
        })?;
        let more = received >= page_size || page.has_next_link;
        previous = Some(next.clone());
        let saved = query_id.clone().map(|id| (id, next.clone()));
        let (page_table, page_schema) = (table.clone(), Arc::clone(schema));
        // Checking rows against the schema happens inside the transaction's work, off the async
        // task, while the next page is already on its way.
        // A row that does not fit is rejected alone: the rest of the page is stored and the
        // cursor moves past it, so one bad row never blocks the table for every device.
        let store_page = shared.store.transact(move |tx| {
            let mut rows: Vec<Record> = Vec::with_capacity(page.items.len());
            let mut rejected = Vec::new();
            for row in page.items {
                let (id, updated_at) = (row.id().to_owned(), row.updated_at().map(str::to_owned));
                match page_schema.conform_remote(row) {
                    Ok(row) => rows.push(row),
                    Err(e) => rejected.push(RejectedRow::new(&page_table, &id, updated_at.as_deref(), &e)),
                }
            }
            let cursor = saved.as_ref().map(|(id, cursor)| (id.as_str(), cursor));
            let outcome = apply_pull_page(tx, &page_table, &rows, cursor)?;
            if !rejected.is_empty() {
                super::rejected::keep(tx, &page_table, &rejected)?;
            }
            Ok((outcome, rejected))
        });
        // The next page depends only on this page's last row: fetch it while this one is stored.
        let (outcome, rejected) = if more {
            let (stored, fetched) = tokio::join!(store_page, fetch(Some(next), page_size));
            next_page = Some(fetched);
            stored?
        } else {
            store_page.await?
        };
        summary.rows += received;
        summary.upserted += outcome.upserted;
        summary.deleted += outcome.deleted;
        summary.skipped += outcome.skipped;
        for row in rejected {
            tracing::warn!(table = %row.table, id = %row.id, column = ?row.column, "{row}");
            shared.events.emit(SyncEvent::RowRejected(row.clone()));
            summary.rejected.push(row);
        }
        shared.events.emit(SyncEvent::PagePulled {
            table: table.clone(),
            rows: received,
            total_rows: summary.rows,
            pages: summary.requests,
        });
    }
    shared.events.emit(SyncEvent::PullFinished(summary.clone()));
    Ok(summary)
}
