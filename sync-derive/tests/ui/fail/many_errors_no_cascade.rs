//! Every error at once, and nothing else: the struct still implements the trait (a stub), and the
//! handles of the valid fields exist, so code using them adds no errors of its own.
use sync_core::{Query, SyncEntity};

#[derive(SyncEntity)]
struct TodoItem {
    id: String,
    text: String,
    count: u64,
    #[sync(version)]
    version: String,
    #[sync(colour = "red")]
    colour: String,
}

fn store<T: SyncEntity>() -> &'static str {
    T::TABLE
}

fn main() {
    let _ = store::<TodoItem>();
    let _ = Query::new().filter(TodoItem::TEXT.eq("x"));
}
