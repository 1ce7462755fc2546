//! The entity: the official quickstart's `TodoItem`, plus a `priority` added in version 2 of this
//! app: a `todo.db` written by version 1 opens as it is (its items get priority 0, then the server's
//! priority at the next sync, which downloads the table again because a column was added).

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
    /// How urgent it is (higher first). Added in version 2: stored items without one get 0.
    #[sync(default = 0)]
    pub priority: i32,
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
            priority: 0,
            created_at: None,
            updated_at: None,
            version: None,
        }
    }

    /// The line `list` and `watch` print: `[x] text  (id)`.
    pub fn line(&self) -> String {
        let done = if self.complete { "x" } else { " " };
        let priority = if self.priority == 0 { String::new() } else { format!("  !{}", self.priority) };
        format!("[{done}] {}{priority}  ({})", self.text, self.id)
    }

    /// The `list --json` form.
    pub fn to_json(&self) -> Value {
        let time = |t: &Option<DateTime<Utc>>| t.map(sync_core::backend::format_datetime);
        json!({
            "id": self.id,
            "text": self.text,
            "complete": self.complete,
            "priority": self.priority,
            "createdAt": time(&self.created_at),
            "updatedAt": time(&self.updated_at),
            "version": self.version,
        })
    }
}
