//! Handles in queries, and generated code that is warning-free under strict lints (no dead-code
//! warnings for unused handles, documented public items), in a module, next to a user `impl`.
#![deny(warnings, missing_docs, unused, clippy::all)]

/// The model.
pub mod model {
    use sync_core::SyncEntity;

    /// A todo item.
    #[derive(SyncEntity, Debug)]
    #[sync(table = "TodoItem")]
    pub struct TodoItem {
        /// Id.
        pub id: String,
        /// Text.
        pub text: String,
        /// Done.
        pub complete: bool,
        /// Order.
        pub rank: Option<i64>,
        pub(crate) note: Option<String>,
    }

    impl TodoItem {
        /// A user's own associated const next to the generated ones.
        pub const DEFAULT_RANK: i64 = 10;
    }

    // A private entity whose handles are never used.
    #[derive(SyncEntity)]
    #[allow(dead_code)]
    struct Unused {
        id: String,
        a: String,
        b: Option<bool>,
    }
}

use model::TodoItem;
use sync_core::{Query, SyncEntity};

fn open_items() -> Query {
    Query::new()
        .filter(
            TodoItem::COMPLETE.eq(false)
                & TodoItem::TEXT.starts_with("buy")
                & TodoItem::RANK.le(TodoItem::DEFAULT_RANK),
        )
        .filter(TodoItem::NOTE.is_null())
        .order_by(TodoItem::RANK.asc())
        .order_by(TodoItem::TEXT.desc())
}

fn main() {
    let q = open_items();
    assert_eq!(q.order_by.len(), 2);
    assert_eq!(q.order_by[0].column, "rank");
    let odata = sync_core::backend::odata_filter(q.filter.as_ref().unwrap());
    assert!(odata.contains("complete eq false"), "{odata}");
    assert!(odata.contains("rank le 10"), "{odata}");
    let item = TodoItem { id: "a".into(), text: "t".into(), complete: false, rank: None, note: None };
    assert_eq!(item.id(), "a");
    assert_eq!(format!("{:?}", TodoItem::TEXT), "Col(text)");
}
