//! The embedded migrations that create (and later upgrade) the system tables.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use sync_core::backend::StoreError;

use crate::connection::Db;

/// `store-diesel/migrations`, compiled into the crate.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies the pending migrations in one `IMMEDIATE` transaction, so two processes opening the
/// same new file at once do not both try to create the tables (the second waits, then finds
/// nothing to do).
pub(crate) fn run(db: &mut Db) -> Result<(), StoreError> {
    let applied = db
        .diesel()
        .immediate_transaction(|conn| {
            conn.run_pending_migrations(MIGRATIONS).map(|v| v.len()).map_err(Failure::Migration)
        })
        .map_err(|e| match e {
            Failure::Migration(e) => {
                StoreError::Backend { message: "sqlite: migrating the system tables".into(), source: Some(e) }
            }
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
