//! Field types of the user's: derived enums and newtypes, `uuid::Uuid`, `#[sync(json)]` fields and
//! types, and a hand-written `SyncValue` impl; their handles compare in queries.
use serde::{Deserialize, Serialize};
use sync_core::{ColumnType, Query, QueryValue, SyncEntity, SyncValue, ValueError};

#[derive(SyncValue, Debug, Clone, Copy, PartialEq, Default)]
enum Level {
    #[default]
    Low,
    High,
}

#[derive(SyncValue, Debug, Clone, Copy, PartialEq, Default)]
struct Cents(i64);

#[derive(SyncValue, Debug, Clone, PartialEq)]
struct Named {
    value: String,
}

/// A newtype of a newtype.
#[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
struct Price(Cents);

/// A generic newtype.
#[derive(SyncValue, Debug, Clone, PartialEq)]
struct Wrapper<T>(T);

#[derive(SyncValue, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[sync(json)]
struct Address {
    city: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Even(i64);

impl SyncValue for Even {
    const COLUMN_TYPE: ColumnType = ColumnType::Integer;

    fn to_json(&self) -> Result<serde_json::Value, ValueError> {
        Ok(self.0.into())
    }

    fn from_json(value: &serde_json::Value) -> Result<Self, ValueError> {
        match value.as_i64() {
            Some(n) if n % 2 == 0 => Ok(Even(n)),
            _ => Err(ValueError::expected("an even integer", value)),
        }
    }
}

impl From<Even> for QueryValue {
    fn from(v: Even) -> Self {
        QueryValue::of(&v).unwrap_or(QueryValue::Null)
    }
}

#[derive(SyncEntity, Debug, Clone, PartialEq)]
struct Thing {
    id: String,
    level: Level,
    #[sync(default = Level::High)]
    later: Level,
    #[sync(default)]
    price: Cents,
    named: Option<Named>,
    nested: Price,
    wrapped: Wrapper<bool>,
    owner: uuid::Uuid,
    address: Option<Address>,
    #[sync(json)]
    tags: Vec<String>,
    #[sync(json, rename = "pairs")]
    pairs: Option<Vec<(i32, String)>>,
    even: Even,
}

fn main() {
    let schema = Thing::schema();
    let ty = |c: &str| schema.column(c).map(|c| (c.ty, c.nullable));
    assert_eq!(ty("level"), Some((ColumnType::String, false)));
    assert_eq!(ty("price"), Some((ColumnType::Integer, false)));
    assert_eq!(ty("named"), Some((ColumnType::String, true)));
    assert_eq!(ty("nested"), Some((ColumnType::Integer, false)));
    assert_eq!(ty("wrapped"), Some((ColumnType::Bool, false)));
    assert_eq!(ty("owner"), Some((ColumnType::String, false)));
    assert_eq!(ty("address"), Some((ColumnType::Json, true)));
    assert_eq!(ty("tags"), Some((ColumnType::Json, false)));
    assert_eq!(ty("pairs"), Some((ColumnType::Json, true)));
    assert_eq!(ty("even"), Some((ColumnType::Integer, false)));
    assert_eq!(schema.column("later").and_then(|c| c.default.clone()), Some(serde_json::json!("High")));
    assert_eq!(schema.column("price").and_then(|c| c.default.clone()), Some(serde_json::json!(0)));

    let _ = Query::new().filter(
        Thing::LEVEL.eq(Level::High)
            & Thing::PRICE.gt(Cents(5))
            & Thing::NAMED.ne(Named { value: "x".into() })
            & Thing::NESTED.le(Price(Cents(9)))
            & Thing::WRAPPED.eq(Wrapper(true))
            & Thing::OWNER.eq(uuid::Uuid::nil())
            & Thing::EVEN.eq(Even(2))
            & Thing::ADDRESS.is_null()
            & Thing::TAGS.is_not_null(),
    );
}
