use sync_core::SyncEntity;

#[derive(Default)]
struct Money(i64);

#[derive(SyncEntity)]
struct Invoice {
    id: String,
    total: Money,
    local: chrono::DateTime<chrono::Local>,
    naive: chrono::NaiveDateTime,
}

fn main() {}
