//! Errors of local data: records, schemas, queries, the queue's collapse rules, and the store.

use crate::operation::OperationKind;

use super::BoxError;

/// A record, or a value in it, does not fit the rules or the table's schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record has no `id`.
    #[error("the record has no id")]
    MissingId,
    /// The id breaks the protocol's rules.
    #[error("invalid id {id:?}: {reason}")]
    InvalidId {
        /// The offending id (shortened).
        id: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The JSON value is not an object.
    #[error("a record must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A field holds a value of the wrong type.
    #[error("column {column:?} expects {expected}, got {found}")]
    WrongType {
        /// The column.
        column: String,
        /// The column's type.
        expected: &'static str,
        /// What the record holds.
        found: String,
    },
    /// A field that cannot be null is null or missing.
    #[error("column {column:?} cannot be null")]
    NullValue {
        /// The column.
        column: String,
    },
    /// The record has a field the table does not know.
    #[error("table {table:?} has no column {column:?}")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The unknown field.
        column: String,
    },
    /// An entity field could not be converted (reported by derived code), or a derived schema's
    /// check refused a value of a field's own type ([`SyncValue`](crate::SyncValue)).
    #[error("field {field:?}: {message}")]
    Field {
        /// The field (its column name).
        field: String,
        /// What went wrong.
        message: String,
    },
}

/// A value does not convert to or from a field's Rust type (see [`SyncValue`](crate::SyncValue)).
/// The derived code names the column: it reports this as [`RecordError::Field`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    message: String,
}

impl ValueError {
    /// An error with its message (`"unknown currency \"XYZ\""`).
    pub fn new(message: impl Into<String>) -> Self {
        ValueError { message: message.into() }
    }

    /// `expected {what}, found {value}`: the value is quoted shortened, a string as
    /// `the string "…"`, a number as itself, anything else by its JSON type.
    ///
    /// ```
    /// use sync_core::ValueError;
    /// let e = ValueError::expected("a UUID", &serde_json::json!("x"));
    /// assert_eq!(e.to_string(), "expected a UUID, found the string \"x\"");
    /// assert_eq!(ValueError::expected("a UUID", &serde_json::json!([1])).message(), "expected a UUID, found array");
    /// ```
    pub fn expected(what: &str, value: &serde_json::Value) -> Self {
        ValueError::new(format!("expected {what}, found {}", describe(value)))
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<serde_json::Error> for ValueError {
    fn from(e: serde_json::Error) -> Self {
        ValueError::new(e.to_string())
    }
}

/// A value as error messages quote it.
pub(crate) fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("the string {:?}", crate::record::truncate_for_message(s)),
        serde_json::Value::Number(n) => n.to_string(),
        other => crate::record::json_type_name(other).to_owned(),
    }
}

/// A [`TableSchema`](crate::TableSchema) is malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A table or column name breaks the naming rules.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Two columns share a name.
    #[error("column {0:?} is declared twice")]
    DuplicateColumn(String),
    /// A system column is declared with the wrong type.
    #[error("system column {column:?} must be {expected}")]
    SystemColumnType {
        /// The column.
        column: String,
        /// The type it must have.
        expected: &'static str,
    },
    /// A schema-evolution declaration (a default, a former name) does not fit its column or table.
    #[error("column {column:?}: {message}")]
    Declaration {
        /// The column (or the table, for a table's former name).
        column: String,
        /// What is wrong.
        message: String,
    },
}

/// A [`Query`](crate::Query) does not fit the table it runs on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The query names a column the table does not have.
    #[error("table {table:?} has no column {column:?}")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A value does not fit the column's type, or the operator does not apply to it.
    #[error("column {column:?}: {message}")]
    TypeMismatch {
        /// The column.
        column: String,
        /// What does not fit.
        message: String,
    },
    /// The query uses an option that is not allowed here (e.g. `$top` in a pull query).
    #[error("{0}")]
    NotAllowed(String),
}

/// Two local changes to one item that cannot be combined (`docs/architecture.md`, "The collapse table").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot {new} item {item_id:?} in table {table:?}: a {existing} is already queued for it; push first")]
pub struct CollapseError {
    /// The table.
    pub table: String,
    /// The item.
    pub item_id: String,
    /// The queued operation's kind.
    pub existing: OperationKind,
    /// The new change's kind.
    pub new: OperationKind,
}

/// A [`Store`](crate::Store) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record does not fit its table.
    #[error("table {table:?}: {source}")]
    Record {
        /// The table.
        table: String,
        /// What is wrong with the record.
        #[source]
        source: RecordError,
    },
    /// A query does not fit its table.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A schema is malformed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The table was never created in this store.
    #[error("unknown table {0:?}: call ensure_table first")]
    UnknownTable(String),
    /// The store holds this table with a schema that cannot be upgraded to the new one.
    #[error("table {table:?} in the store is incompatible with the schema: {message}")]
    IncompatibleSchema {
        /// The table.
        table: String,
        /// What differs.
        message: String,
    },
    /// An insert met an existing id.
    #[error("table {table:?} already has an item with id {id:?}")]
    DuplicateId {
        /// The table.
        table: String,
        /// The id.
        id: String,
    },
    /// The item, operation or error row does not exist.
    #[error("table {table:?} has no item {id:?}")]
    NotFound {
        /// The table (or system table).
        table: String,
        /// The id.
        id: String,
    },
    /// The new change cannot be combined with the queued one.
    #[error(transparent)]
    Collapse(#[from] CollapseError),
    /// A stored value could not be read back (corruption or a foreign writer). A database file
    /// the backend itself finds damaged is [`StoreError::CorruptFile`].
    #[error("corrupt data in {table:?}: {message}")]
    Corrupt {
        /// The table.
        table: String,
        /// What could not be read.
        message: String,
    },
    /// The disk holding the database is full, or the database reached its size limit. The
    /// transaction was rolled back: nothing of it was written. Free some space, then try again.
    #[error("the disk is full: {message}")]
    DiskFull {
        /// What failed, and the backend's reason (`sqlite: committing: database or disk is full`).
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// Another connection or process holds a lock on the database and kept it past the store's
    /// busy timeout. Nothing was written; the same call may succeed once the lock is released.
    #[error("the database is busy: {message}")]
    Busy {
        /// What failed, and the backend's reason (`sqlite: beginning a transaction: database is locked`).
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The database cannot be written: a read-only file, directory or mount. Nothing was written;
    /// reads may still work.
    #[error("the database is read-only: {message}")]
    ReadOnly {
        /// What failed, and the backend's reason (`sqlite: writing to "T": attempt to write a readonly database`).
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The database file is damaged, or is not a database at all. Restore it from a backup, or
    /// delete it and sync again (queued local changes in it are lost).
    #[error("the database file is corrupt: {message}")]
    CorruptFile {
        /// What failed, and the backend's reason (`sqlite: querying "T": database disk image is malformed`).
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The store was used outside a Tokio runtime, and it needs one (store-diesel runs SQLite on
    /// Tokio's blocking threads). Nothing was done. Call it from within a runtime (inside
    /// `#[tokio::main]`, or `Runtime::block_on`).
    #[error("the store needs a running Tokio runtime: call it from within one (e.g. inside #[tokio::main])")]
    NoRuntime,
    /// The database's encryption does not fit how it was opened: the key is wrong, the file is
    /// encrypted and no key was given, a key was given for a file that is not encrypted, or a key
    /// was given to a build that cannot encrypt. Nothing was read or written; open it again with
    /// the right key (store-diesel: `OpenOptions::encryption_key`).
    #[error("the database cannot be opened with this encryption setting: {message}")]
    Encryption {
        /// What does not fit, and what to do.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The backend itself failed for another reason (I/O, a poisoned lock, a cancelled task, …).
    #[error("store backend failed: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl RecordError {
    /// The column the error is about, when it is about one.
    pub fn column(&self) -> Option<&str> {
        match self {
            RecordError::WrongType { column, .. }
            | RecordError::NullValue { column }
            | RecordError::UnknownColumn { column, .. } => Some(column),
            RecordError::Field { field, .. } => Some(field),
            RecordError::InvalidId { .. } | RecordError::MissingId => Some(crate::schema::system::ID),
            RecordError::NotAnObject { .. } => None,
        }
    }
}

impl StoreError {
    /// A backend failure with a source error.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Backend { message: message.into(), source: Some(source.into()) }
    }

    /// A record error for `table`.
    pub fn record(table: impl Into<String>, source: RecordError) -> Self {
        StoreError::Record { table: table.into(), source }
    }
}
