//! Pull: keyset incremental sync (`docs/architecture.md`, "Pull with the keyset cursor"). Pages
//! are fetched one ahead; each is stored with its cursor in one transaction.

use std::collections::HashMap;
use std::sync::Arc;

use super::events::{PullSummary, SyncEvent};
use super::options::PullOptions;
use super::rejected::RejectedRow;
use super::retry::with_retry;
use super::shared::Shared;
use crate::cursor::check_query_id;
use crate::error::{QueryError, RecordError, RemoteError, SyncError};
use crate::operation::OperationFilter;
use crate::pull_position::{Around, Position};
use crate::query::expr::Query;
use crate::query::odata::odata_filter;
use crate::query::resolve::resolve_query;
use crate::queue::apply_pull_rows;
use crate::remote::PageRequest;
use crate::row_page::{RowKeys, RowRef};
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

#[tracing::instrument(name = "pull", skip_all, fields(table = %schema.name(), query_id = ?options.query_id))]
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
    let mut exact = remote.exact_timestamps();
    let mut position = match &query_id {
        Some(id) => {
            let (t, id) = (table.clone(), id.clone());
            let filter_key = filter.as_ref().map(odata_filter).unwrap_or_default();
            shared.store.transact(move |tx| Position::load_for_filter(tx, &t, &id, &filter_key)).await?
        }
        None => Position::Start,
    };
    if exact {
        position = position.for_exact_remote();
    }

    let mut page_size = options.page_size.unwrap_or(shared.options.page_size).max(1);
    let mut summary = PullSummary { table: table.clone(), ..Default::default() };
    // The first page also asks for the number of rows to come (no extra request), for progress.
    let mut expected: Option<u64> = None;
    let fetch = |position: Position, page_size: u64, with_total: bool| {
        let (remote, filter) = (&remote, filter.as_ref());
        async move {
            let bound = position.filter()?;
            let filter = match (filter, bound) {
                (Some(f), Some(b)) => Some(f.clone().and(b)),
                (f, b) => b.or_else(|| f.cloned()),
            };
            let filter = filter.as_ref();
            with_retry(&shared.options.retry, || async {
                let request = match &position {
                    Position::Window { after_id, .. } => {
                        PageRequest::ById { filter, after_id: after_id.as_deref(), page_size }
                    }
                    Position::Keyset(cursor) => {
                        PageRequest::Keyset { filter, cursor: Some(cursor), page_size, with_total }
                    }
                    Position::Start | Position::Past { .. } => {
                        PageRequest::Keyset { filter, cursor: None, page_size, with_total }
                    }
                };
                remote.query_rows(schema, request).await
            })
            .await
        }
    };
    // Rows of the last full page near its last timestamp: the window after it reads them again,
    // and those still at the same version are not stored or counted twice.
    let mut seen_near: HashMap<String, Option<String>> = HashMap::new();
    let mut asked = position.clone();
    let mut next_page = Some(fetch(position, page_size, true).await);
    while let Some(page) = next_page.take() {
        let page = match page {
            // Rows too big for the remote's body limit: ask for half as many, down to one row.
            Err(RemoteError::TooLarge { .. }) if page_size > 1 => {
                page_size = (page_size / 2).max(1);
                tracing::info!(table = %table, page_size, "a page was over the body limit: asking for smaller pages");
                shared.events.emit(SyncEvent::PageSizeReduced { table: table.clone(), page_size });
                next_page = Some(fetch(asked.clone(), page_size, summary.requests == 0).await);
                continue;
            }
            other => other?,
        };
        summary.requests += 1;
        if let Some(count) = page.total {
            expected = Some(summary.rows + count);
        }
        let page_span = tracing::debug_span!("page", n = summary.requests, rows = page.len());
        page_span.in_scope(|| tracing::debug!(position = ?asked, "page received"));
        let mut page = page;
        // A remote may learn from the server's answers that its timestamps are exact (sync-server
        // says so): from the next step on, the pull follows the plain keyset cursor. Every
        // position is valid either way; a window already begun runs to its end.
        exact = remote.exact_timestamps();
        let (next, saved_position, keep) = {
            let rows = page.rows();
            asked.check_page(&rows, exact)?;
            if let Some(last) = rows.last() {
                if last.updated_at().is_none() {
                    return Err(SyncError::InvalidServerRow {
                        table: table.clone(),
                        source: RecordError::NullValue { column: system::UPDATED_AT.to_owned() },
                    });
                }
            }
            let full = rows.len() as u64 >= page_size || page.has_next_link;
            let next = asked.after_page(&rows, full, exact)?;
            let saved_position = match &next {
                Some(next) => next.clone(),
                None => asked.final_after(&rows, exact),
            };
            if rows.is_empty() && next.is_none() {
                break;
            }
            let keep: Vec<bool> = match asked {
                Position::Window { .. } => rows
                    .iter()
                    .map(|row| seen_near.get(row.id()).is_none_or(|v| v.as_deref() != row.version()))
                    .collect(),
                _ => Vec::new(),
            };
            let kept: Vec<&RowRef<'_>> = rows.iter().filter(|row| keep.get(row.row).copied().unwrap_or(true)).collect();
            seen_near = match &next {
                Some(Position::Window { around, after_id: None }) => near(&kept, around),
                Some(Position::Window { .. }) => seen_near,
                _ => HashMap::new(),
            };
            (next, saved_position, keep)
        };
        page.retain_rows(&keep);
        let received = page.len() as u64;
        let save = query_id.clone().map(|id| (id, saved_position));
        let page_table = table.clone();
        // Conforming rows to the schema happens inside the transaction's work, off the async
        // task, while the next page is already on its way.
        // A row that does not fit is rejected alone: the rest of the page is stored and the
        // cursor moves past it, so one bad row never blocks the table for every device.
        let store_page = shared.store.transact(move |tx| {
            let misfits = page.conform();
            let mut rejected = Vec::with_capacity(misfits.len());
            let mut misfits = misfits.into_iter().peekable();
            let mut rows = Vec::with_capacity(page.len());
            for row in 0..page.len() {
                match misfits.next_if(|m| m.row == row) {
                    Some(m) => {
                        rejected.push(RejectedRow::new(&page_table, page.id(row), m.updated_at.as_deref(), &m.error))
                    }
                    None => rows.push(row),
                }
            }
            let outcome = apply_pull_rows(tx, &page_table, &page, &rows)?;
            if let Some((query_id, position)) = &save {
                position.save(tx, &page_table, query_id)?;
            }
            if !rejected.is_empty() {
                super::rejected::keep(tx, &page_table, &rejected)?;
            }
            Ok((outcome, rejected))
        });
        let store_page = tracing::Instrument::instrument(store_page, page_span);
        // The next request depends only on this page: fetch it while this one is stored.
        let (outcome, rejected) = match next {
            Some(next) => {
                asked = next.clone();
                let (stored, fetched) = tokio::join!(store_page, fetch(next, page_size, false));
                next_page = Some(fetched);
                stored?
            }
            None => store_page.await?,
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
            total: expected,
        });
    }
    shared.events.emit(SyncEvent::PullFinished(summary.clone()));
    Ok(summary)
}

/// The ids and versions of `rows` sent within one unit of `around` (the rows a window around
/// it will read again).
fn near(rows: &[&RowRef<'_>], around: &str) -> HashMap<String, Option<String>> {
    let Ok(around) = Around::of(around) else { return HashMap::new() };
    rows.iter()
        .rev()
        .take_while(|row| row.updated_at().is_some_and(|sent| around.holds(sent)))
        .map(|row| (row.id().to_owned(), row.version().map(str::to_owned)))
        .collect()
}
