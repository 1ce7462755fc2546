//! All four system fields, the id under another name, and their column handles.
use sync_core::{Col, SyncEntity};

#[derive(SyncEntity, Debug, PartialEq)]
#[sync(table = "Audit_Log2")]
pub struct Entry {
    #[sync(id)]
    pub key: String,
    pub message: String,
    #[sync(created_at)]
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    #[sync(updated_at)]
    pub changed: ::core::option::Option<chrono::DateTime<chrono::Utc>>,
    #[sync(version)]
    pub etag: Option<String>,
    #[sync(deleted)]
    pub gone: bool,
}

fn main() {
    assert_eq!(Entry::TABLE, "Audit_Log2");
    let _: Col<String> = Entry::KEY;
    let _: Col<chrono::DateTime<chrono::Utc>> = Entry::CREATED;
    assert_eq!(Entry::KEY.name(), "id");
    assert_eq!(Entry::CREATED.name(), "createdAt");
    assert_eq!(Entry::CHANGED.name(), "updatedAt");
    assert_eq!(Entry::ETAG.name(), "version");
    assert_eq!(Entry::GONE.name(), "deleted");
    let schema = Entry::schema();
    assert_eq!(schema.columns().len(), 6);
    assert_eq!(schema.user_columns().count(), 1);

    let record = sync_core::Record::from_json(serde_json::json!({
        "id": "e1",
        "message": "hi",
        "createdAt": "2024-05-06T07:08:09.010Z",
        "updatedAt": "2024-05-06T07:08:09.011Z",
        "version": "v1",
        "deleted": true,
    }))
    .unwrap();
    let entry = Entry::from_record(&record).unwrap();
    assert_eq!(entry.key, "e1");
    assert_eq!(entry.etag.as_deref(), Some("v1"));
    assert!(entry.gone);
    assert_eq!(entry.changed.unwrap().to_rfc3339(), "2024-05-06T07:08:09.011+00:00");
    assert_eq!(entry.to_record().unwrap().get("updatedAt"), Some(&serde_json::json!("2024-05-06T07:08:09.011Z")));
}
