use sync_core::SyncEntity;

#[derive(SyncEntity)]
enum Status {
    Open { id: String },
    Closed { id: String },
}

#[derive(SyncEntity)]
union Bits {
    id: u32,
    value: f32,
}

fn main() {}
