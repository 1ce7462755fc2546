use sync_core::SyncEntity;

#[derive(SyncEntity)]
struct Wrapper<T> {
    id: String,
    value: T,
}

fn main() {}
