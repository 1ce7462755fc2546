use sync_core::SyncValue;

#[derive(SyncValue)]
enum Shape {
    Circle(f64),
    Square { side: f64 },
    Dot,
}

#[derive(SyncValue)]
#[sync(rename_all = "snake_case")]
enum Clash {
    HighPriority,
    #[sync(rename = "high_priority")]
    Urgent,
    #[sync(colour = "red")]
    Low,
}

#[derive(SyncValue)]
#[sync(rename_all = "Title Case")]
enum BadStyle {
    A,
}

#[derive(SyncValue)]
enum Empty {}

#[derive(SyncValue)]
enum Generic<T> {
    A,
    #[allow(dead_code)]
    B(std::marker::PhantomData<T>),
}

#[derive(SyncValue)]
struct Pair(i64, i64);

#[derive(SyncValue)]
struct Unit;

#[derive(SyncValue)]
struct Tags(Vec<String>);

#[derive(SyncValue)]
#[sync(table = "x")]
struct Cents(i64);

fn main() {}
