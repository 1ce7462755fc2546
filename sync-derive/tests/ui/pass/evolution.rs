//! The schema-evolution keys compile and end up in the schema.

use sync_core::{ColumnType, SyncEntity};

#[derive(SyncEntity, Debug, Clone)]
#[sync(table = "Task", renamed_from = "TodoItem", keep_cursors)]
struct Task {
    id: String,
    #[sync(renamed_from = "text")]
    title: String,
    #[sync(default = 2)]
    priority: i32,
    #[sync(default)]
    done: bool,
    #[sync(default = Some("inbox".to_owned()))]
    list: Option<String>,
    #[sync(convert, default = 0.5)]
    estimate: f64,
}

fn main() {
    let schema = Task::schema();
    assert_eq!(schema.previous_name(), Some("TodoItem"));
    assert!(schema.keeps_cursors_on_new_columns());
    let title = schema.column("title").unwrap();
    assert_eq!(title.renamed_from.as_deref(), Some("text"));
    assert_eq!(schema.column("priority").unwrap().default, Some(2.into()));
    assert_eq!(schema.column("done").unwrap().default, Some(false.into()));
    assert_eq!(schema.column("list").unwrap().default, Some("inbox".into()));
    let estimate = schema.column("estimate").unwrap();
    assert!(estimate.convert && estimate.ty == ColumnType::Real);
}
