//! The embedded migrations that create (and later upgrade) the system tables.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use sync_core::backend::StoreError;

use crate::connection::Db;

/// `store-diesel/migrations`, compiled into the crate.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies the pending migrations, if any.
///
/// Whether any are pending is checked first with reads only (outside any transaction), so
/// opening a file that is already up to date never takes the write lock: it opens, and serves
/// reads, while another process holds a write transaction. (Diesel's check runs
/// `CREATE TABLE IF NOT EXISTS __diesel_schema_migrations`, which takes no lock when the table
/// exists.) When something is pending, or the check itself fails (a brand-new file another
/// process is creating right now), the migrations run in one `IMMEDIATE` transaction, so two
/// processes opening the same new file at once do not both try to create the tables: the second
/// waits, then finds nothing to do.
pub(crate) fn run(db: &mut Db) -> Result<(), StoreError> {
    match db.diesel().has_pending_migration(MIGRATIONS) {
        Ok(false) => return Ok(()),
        Ok(true) => {}
        Err(e) => tracing::debug!(error = %e, "checking for pending migrations failed; migrating under the write lock"),
    }
    let applied = db
        .diesel()
        .immediate_transaction(|conn| {
            conn.run_pending_migrations(MIGRATIONS).map(|v| v.len()).map_err(Failure::Migration)
        })
        .map_err(|e| match e {
            Failure::Migration(e) => crate::error::boxed("migrating the system tables", e),
            Failure::Diesel(e) => crate::error::db("migrating the system tables", e),
        })?;
    if applied > 0 {
        tracing::debug!(applied, "applied store migrations");
    }
    Ok(())
}

enum Failure {
    Migration(sync_core::backend::BoxError),
    Diesel(diesel::result::Error),
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Failure::Diesel(e)
    }
}
