//! The entities the benchmarks sync: the Node server's `Item` and `TodoItem` tables.

use sync_core::chrono::{DateTime, Utc};
use sync_core::SyncEntity;

/// A row of the server's `Item` table (`name string, n number, flag boolean`): pulled in
/// section 1, written locally in sections 3–5.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Item")]
pub struct Item {
    /// The id.
    pub id: String,
    /// Text (`seed.js` writes the id here).
    pub name: String,
    /// A number (the server stores REAL).
    pub n: f64,
    /// A flag.
    pub flag: bool,
    /// Server-owned.
    #[sync(created_at)]
    pub created_at: Option<DateTime<Utc>>,
    /// Server-owned.
    #[sync(updated_at)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Server-owned.
    #[sync(version)]
    pub version: Option<String>,
}

impl Item {
    /// A new local item number `i` with id `{prefix}{i:08}`.
    pub fn new(prefix: &str, i: u64) -> Self {
        let id = format!("{prefix}{i:08}");
        Item {
            name: format!("item {i} named after {id}"),
            id,
            n: i as f64,
            flag: i % 2 == 1,
            created_at: None,
            updated_at: None,
            version: None,
        }
    }
}

/// A row of the server's `TodoItem` table (`text string, complete boolean`): pushed in section 2.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
pub struct Todo {
    /// The id.
    pub id: String,
    /// The text.
    pub text: String,
    /// Done or not.
    pub complete: bool,
    /// Server-owned.
    #[sync(updated_at)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Server-owned.
    #[sync(version)]
    pub version: Option<String>,
}

impl Todo {
    /// Todo number `i` with id `{prefix}{i:06}`.
    pub fn new(prefix: &str, i: u64) -> Self {
        Todo {
            id: format!("{prefix}{i:06}"),
            text: format!("todo number {i}: buy milk, eggs and bread"),
            complete: i.is_multiple_of(3),
            updated_at: None,
            version: None,
        }
    }

    /// The JSON body a client POSTs for this item (what the REST remote sends: the user fields
    /// and the id; server-owned columns stripped).
    pub fn post_body(&self) -> serde_json::Value {
        serde_json::json!({"id": self.id, "text": self.text, "complete": self.complete})
    }
}
