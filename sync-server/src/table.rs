//! Table definitions: the columns a table has (fixed, or dynamic: added by writes) and its options.

use sync_core::{Column, ColumnType, TableSchema};

use crate::error::ServerError;

/// The Node server's default page size (rows returned when a query has no `$top`).
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// The Node server's default largest `$top`; more is a 400.
pub const DEFAULT_MAX_TOP: u64 = 1000;

/// Options of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// `DELETE` marks the row `deleted: true` (kept, visible to `__includeDeleted=true`) instead
    /// of removing it. Incremental pull needs it to learn of deletions. Default: on.
    pub soft_delete: bool,
    /// Rows returned when a query has no `$top` (or `$top=0`). Default 50.
    pub page_size: u64,
    /// The largest `$top` accepted; more is a 400. Default 1000.
    pub max_top: u64,
    /// Rows belong to users (the Node server's `perUser`): a `userId` column, set from the
    /// token's `sub` on insert, filters every request, so a user sees and writes only their own
    /// rows (another user's row is a 404). Needs authentication ([`crate::Auth`]). Default: off.
    pub per_user: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions { soft_delete: true, page_size: DEFAULT_PAGE_SIZE, max_top: DEFAULT_MAX_TOP, per_user: false }
    }
}

/// A table the server serves.
#[derive(Debug, Clone)]
pub(crate) struct TableDef {
    /// The name (as in `/tables/{name}`).
    pub name: String,
    /// The declared user columns (fixed schema); empty for dynamic tables.
    pub columns: Vec<Column>,
    /// Dynamic schema: columns are added when a write first brings them.
    pub dynamic: bool,
    /// The options.
    pub options: TableOptions,
}

impl TableDef {
    /// A table with fixed columns, from a schema (its system columns are the server's own).
    pub fn fixed(schema: &TableSchema, options: TableOptions) -> Result<Self, ServerError> {
        let def = TableDef {
            name: schema.name().to_owned(),
            columns: schema.user_columns().cloned().collect(),
            dynamic: false,
            options,
        };
        def.check()?;
        def.with_owner_column()
    }

    /// A table with a dynamic schema.
    pub fn dynamic(name: &str, options: TableOptions) -> Result<Self, ServerError> {
        let schema = TableSchema::new(name, Vec::new()).map_err(|e| ServerError::Config(e.to_string()))?;
        let def = TableDef { name: schema.name().to_owned(), columns: Vec::new(), dynamic: true, options };
        def.check()?;
        def.with_owner_column()
    }

    /// A `per_user` table's declared `userId` column (added when missing).
    fn with_owner_column(mut self) -> Result<Self, ServerError> {
        if !self.options.per_user {
            return Ok(self);
        }
        match self.columns.iter().find(|c| c.name == OWNER) {
            Some(c) if c.ty != ColumnType::String => {
                Err(ServerError::Config(format!("table {}: the per_user column {OWNER} must be a string", self.name)))
            }
            Some(_) => Ok(self),
            None => {
                self.columns.push(Column::nullable(OWNER, ColumnType::String));
                Ok(self)
            }
        }
    }

    fn check(&self) -> Result<(), ServerError> {
        let o = &self.options;
        if o.page_size == 0 || o.max_top == 0 {
            return Err(ServerError::Config(format!("table {}: page_size and max_top must be at least 1", self.name)));
        }
        if o.page_size > o.max_top {
            return Err(ServerError::Config(format!("table {}: page_size is larger than max_top", self.name)));
        }
        Ok(())
    }
}

/// The column that names a `per_user` row's owner.
pub(crate) const OWNER: &str = "userId";

/// The server's system columns, in the order they are stored.
pub(crate) fn system_columns() -> Vec<Column> {
    vec![
        Column::new("id", ColumnType::String),
        Column::new("createdAt", ColumnType::DateTime),
        Column::new("updatedAt", ColumnType::DateTime),
        Column::new("version", ColumnType::String),
        Column::new("deleted", ColumnType::Bool),
    ]
}

/// Whether a name is a valid column name (the rules of [`TableSchema`]).
pub(crate) fn valid_column_name(name: &str) -> Result<(), String> {
    TableSchema::new("t", vec![Column::nullable(name, ColumnType::String)]).map(drop).map_err(|e| e.to_string())
}
