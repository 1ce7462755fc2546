//! Explicit migration steps, for what the entity's attributes cannot say: numbered steps
//! registered with [`SyncContextBuilder::migration`](crate::SyncContextBuilder::migration), each
//! run once per store, in one transaction, in version order. The store's schema version is a
//! config value (`schemaVersion`) written in the step's own transaction, so a step that fails
//! leaves nothing behind and runs again next time, and two contexts (or processes) building at
//! once run each step once: the second finds the version already written.

use std::sync::Arc;

use crate::error::{RecordError, StoreError, SyncError};
use crate::operation::OperationFilter;
use crate::record::Record;
use crate::store::{Store, StoreExt, Transaction};

/// The config key holding the version of the last migration step run on the store.
const VERSION_KEY: &str = "schemaVersion";

/// Rows read per round by [`Migration::update_rows`].
const PAGE: usize = 500;

/// A migration step (see [`SyncContextBuilder::migration`](crate::SyncContextBuilder::migration)).
pub(crate) type Step = Arc<dyn Fn(&mut Migration<'_>) -> Result<(), StoreError> + Send + Sync>;

/// What a migration step works with: the store's transaction, and helpers for the common jobs.
///
/// Steps run while the context is built, before any table is opened with the app's entities, so
/// they see every table **as stored** (with the schema an older version left), and whatever they
/// write must fit that schema. Opening the tables afterwards applies the entities' declarations
/// (defaults, former names, conversions).
pub struct Migration<'t> {
    tx: &'t mut dyn Transaction,
    version: u32,
}

impl std::fmt::Debug for Migration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration").field("version", &self.version).finish_non_exhaustive()
    }
}

/// What [`Migration::update_rows`] does with one row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    /// Leave the row as it is.
    Keep,
    /// Write this record instead (same id, the table's stored schema).
    Write(Record),
    /// Delete the row locally (nothing is queued: the server keeps it).
    Delete,
}

impl<'t> Migration<'t> {
    /// The version of the step running.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The step's transaction, for anything the helpers do not cover.
    pub fn transaction(&mut self) -> &mut dyn Transaction {
        &mut *self.tx
    }

    /// Calls `change` on every row of `table` (soft-deleted ones included), in id order, page by
    /// page, and applies what it returns (a [`RecordError`] it returns fails the step); returns how many rows were written or deleted. Rows are
    /// changed as stored data: nothing is queued for the server (the next pull may bring the
    /// server's values back, unless the app pushes its own). A table the store does not have (a
    /// new install) has no rows: `Ok(0)`.
    pub fn update_rows(
        &mut self,
        table: &str,
        mut change: impl FnMut(Record) -> Result<RowChange, RecordError>,
    ) -> Result<u64, StoreError> {
        let mut after: Option<String> = None;
        let mut changed = 0;
        loop {
            let rows = match self.tx.rows(table, after.as_deref(), PAGE) {
                Err(StoreError::UnknownTable(_)) if after.is_none() => return Ok(0),
                other => other?,
            };
            let Some(last) = rows.last().map(|r| r.id().to_owned()) else { return Ok(changed) };
            for row in rows {
                let id = row.id().to_owned();
                match change(row).map_err(|e| StoreError::record(table, e))? {
                    RowChange::Keep => continue,
                    RowChange::Write(record) if record.id() != id => {
                        return Err(StoreError::Backend {
                            message: format!("migration step wrote row {:?} of {table:?} as {:?}", id, record.id()),
                            source: None,
                        })
                    }
                    RowChange::Write(record) => self.tx.upsert(table, &record)?,
                    RowChange::Delete => {
                        self.tx.delete(table, &id)?;
                    }
                }
                changed += 1;
            }
            after = Some(last);
        }
    }

    /// Moves the queued operations and error rows of table `from` to table `to` (a table renamed
    /// without `renamed_from`, or merged into another); their snapshots stay as they are. Returns
    /// how many operations moved.
    pub fn move_operations(&mut self, from: &str, to: &str) -> Result<u64, StoreError> {
        let ops = self.tx.operations(&OperationFilter::table(from))?;
        for mut op in ops.iter().cloned() {
            op.table = to.to_owned();
            self.tx.update_operation(&op)?;
        }
        for mut error in self.tx.errors(Some(from))? {
            error.table = to.to_owned();
            self.tx.put_error(&error)?;
        }
        Ok(ops.len() as u64)
    }

    /// Drops the queued operations and error rows of `table`: their changes are never pushed.
    /// For a table the app no longer has, or changes it decided to give up. Returns how many
    /// operations were dropped.
    pub fn drop_operations(&mut self, table: &str) -> Result<u64, StoreError> {
        let ops = self.tx.operations(&OperationFilter::table(table))?;
        for op in &ops {
            self.tx.remove_error(op.id)?;
            self.tx.remove_operation(op.id)?;
        }
        tracing::warn!(table, dropped = ops.len(), "a migration step dropped queued operations");
        Ok(ops.len() as u64)
    }
}

fn stored_version(tx: &mut dyn Transaction) -> Result<u32, StoreError> {
    match tx.config(VERSION_KEY)? {
        None => Ok(0),
        Some(text) => text.parse().map_err(|_| StoreError::Corrupt {
            table: "config".into(),
            message: format!("{VERSION_KEY} holds {text:?}, not a version"),
        }),
    }
}

/// Runs the steps the store has not run yet, in version order. Nothing is read when no step is
/// registered; the push lock is taken only when a step is due, so no push has operations in
/// flight while a step moves or drops them.
pub(crate) async fn run(store: &Arc<dyn Store>, mut steps: Vec<(u32, Step)>) -> Result<(), SyncError> {
    if steps.is_empty() {
        return Ok(());
    }
    steps.sort_by_key(|(v, _)| *v);
    if let Some(w) = steps.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(SyncError::DuplicateMigration(w[0].0));
    }
    let current = store.transact(stored_version).await?;
    if steps.iter().all(|(v, _)| *v <= current) {
        return Ok(());
    }
    let _lock = store.lock_push().await?;
    for (version, step) in steps.into_iter().filter(|(v, _)| *v > current) {
        let ran = store
            .transact(move |tx| {
                if stored_version(tx)? >= version {
                    return Ok(false);
                }
                step(&mut Migration { tx: &mut *tx, version })?;
                tx.set_config(VERSION_KEY, &version.to_string())?;
                Ok(true)
            })
            .await
            .map_err(|source| SyncError::Migration { version, source })?;
        if ran {
            tracing::info!(version, "ran migration step");
        }
    }
    Ok(())
}
