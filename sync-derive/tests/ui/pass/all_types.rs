//! Every supported field type, plain and as `Option<T>`, with the column type and nullability it maps to.
use chrono::{DateTime, Utc};
use serde_json::Value;
use sync_core::{Col, ColumnType, SyncEntity};

#[derive(SyncEntity)]
struct Everything {
    id: String,
    string: String,
    boolean: bool,
    int8: i8,
    int16: i16,
    int32: i32,
    int64: i64,
    uint8: u8,
    uint16: u16,
    uint32: u32,
    float32: f32,
    float64: f64,
    instant: DateTime<Utc>,
    full_path_instant: chrono::DateTime<chrono::Utc>,
    json: Value,
    full_path_json: serde_json::Value,
    full_path_string: std::string::String,
    opt_string: Option<String>,
    opt_boolean: Option<bool>,
    opt_int8: Option<i8>,
    opt_int16: Option<i16>,
    opt_int32: Option<i32>,
    opt_int64: Option<i64>,
    opt_uint8: Option<u8>,
    opt_uint16: Option<u16>,
    opt_uint32: Option<u32>,
    opt_float32: Option<f32>,
    opt_float64: Option<f64>,
    opt_instant: Option<DateTime<Utc>>,
    opt_json: std::option::Option<Value>,
}

fn main() {
    let schema = Everything::schema();
    let expect = [
        ("string", ColumnType::String, false),
        ("boolean", ColumnType::Bool, false),
        ("int8", ColumnType::Integer, false),
        ("int16", ColumnType::Integer, false),
        ("int32", ColumnType::Integer, false),
        ("int64", ColumnType::Integer, false),
        ("uint8", ColumnType::Integer, false),
        ("uint16", ColumnType::Integer, false),
        ("uint32", ColumnType::Integer, false),
        ("float32", ColumnType::Real, false),
        ("float64", ColumnType::Real, false),
        ("instant", ColumnType::DateTime, false),
        ("full_path_instant", ColumnType::DateTime, false),
        ("json", ColumnType::Json, true),
        ("full_path_json", ColumnType::Json, true),
        ("full_path_string", ColumnType::String, false),
        ("opt_string", ColumnType::String, true),
        ("opt_boolean", ColumnType::Bool, true),
        ("opt_int8", ColumnType::Integer, true),
        ("opt_int16", ColumnType::Integer, true),
        ("opt_int32", ColumnType::Integer, true),
        ("opt_int64", ColumnType::Integer, true),
        ("opt_uint8", ColumnType::Integer, true),
        ("opt_uint16", ColumnType::Integer, true),
        ("opt_uint32", ColumnType::Integer, true),
        ("opt_float32", ColumnType::Real, true),
        ("opt_float64", ColumnType::Real, true),
        ("opt_instant", ColumnType::DateTime, true),
        ("opt_json", ColumnType::Json, true),
    ];
    let user: Vec<_> = schema.user_columns().map(|c| (c.name.as_str(), c.ty, c.nullable)).collect();
    assert_eq!(user, expect);

    // Handles are typed with the field's type without `Option`.
    let _: Col<String> = Everything::STRING;
    let _: Col<bool> = Everything::OPT_BOOLEAN;
    let _: Col<i8> = Everything::INT8;
    let _: Col<u32> = Everything::OPT_UINT32;
    let _: Col<f32> = Everything::FLOAT32;
    let _: Col<DateTime<Utc>> = Everything::FULL_PATH_INSTANT;
    let _: Col<Value> = Everything::OPT_JSON;
    let _: Col<String> = Everything::ID;
}
