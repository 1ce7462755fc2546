//! [`SyncEntity`]: a user struct that maps to a synced table.

use crate::error::RecordError;
use crate::record::Record;
use crate::schema::TableSchema;

/// A typed entity stored in a synced table. Derive it with `#[derive(SyncEntity)]`:
///
/// ```
/// use sync_core::SyncEntity;
///
/// #[derive(SyncEntity, Debug, Clone, PartialEq)]
/// #[sync(table = "TodoItem")]
/// struct TodoItem {
///     id: String,
///     text: String,
///     complete: bool,
///     #[sync(version)]
///     version: Option<String>,
/// }
///
/// let item = TodoItem { id: "1".into(), text: "milk".into(), complete: false, version: None };
/// let record = item.to_record().unwrap();
/// assert_eq!(record.get("text"), Some(&serde_json::json!("milk")));
/// assert_eq!(TodoItem::from_record(&record).unwrap(), item);
/// assert_eq!(TodoItem::schema().name(), "TodoItem");
/// ```
///
/// System fields (`createdAt`, `updatedAt`, `version`, `deleted`) are owned by the server: the
/// engine keeps the stored values on local writes, whatever the struct holds.
pub trait SyncEntity: Sized + Send + Sync + 'static {
    /// The table name on the server and in the store.
    const TABLE: &'static str;

    /// The table's schema.
    fn schema() -> TableSchema;

    /// Converts the entity to a record (every mapped field, system fields included).
    fn to_record(&self) -> Result<Record, RecordError>;

    /// Builds the entity from a record; missing nullable fields become `None`.
    fn from_record(record: &Record) -> Result<Self, RecordError>;

    /// The entity's id (may be empty before the first insert).
    fn id(&self) -> &str;

    /// Sets the id (the engine gives new entities a UUID when their id is empty).
    fn set_id(&mut self, id: String);
}
