use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct Invoice {
    id: String,
    local: chrono::DateTime<chrono::Local>,
    naive: chrono::NaiveDateTime,
    pointer: Box<String>,
    letter: char,
}

fn main() {}
