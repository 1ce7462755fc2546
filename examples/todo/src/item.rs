//! The entity: the official quickstart's `TodoItem`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sync_core::SyncEntity;

/// A todo item, as the official quickstart's table has it.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
pub struct TodoItem {
    /// The id (a UUID made on this device).
    pub id: String,
    /// What to do.
    pub text: String,
    /// Whether it is done.
    pub complete: bool,
    /// When the server first stored it.
    #[sync(created_at)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the server last changed it.
    #[sync(updated_at)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The server's version.
    #[sync(version)]
    pub version: Option<String>,
}

impl TodoItem {
    /// A new, not yet synced item.
    pub fn new(text: impl Into<String>) -> Self {
        TodoItem {
            id: String::new(),
            text: text.into(),
            complete: false,
            created_at: None,
            updated_at: None,
            version: None,
        }
    }

    /// The line `list` and `watch` print: `[x] text  (id)`.
    pub fn line(&self) -> String {
        format!("[{}] {}  ({})", if self.complete { "x" } else { " " }, self.text, self.id)
    }

    /// The `list --json` form.
    pub fn to_json(&self) -> Value {
        let time = |t: &Option<DateTime<Utc>>| t.map(sync_core::backend::format_datetime);
        json!({
            "id": self.id,
            "text": self.text,
            "complete": self.complete,
            "createdAt": time(&self.created_at),
            "updatedAt": time(&self.updated_at),
            "version": self.version,
        })
    }
}
