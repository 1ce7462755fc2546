//! The differential test of the two ways a query page is read: records (`parse_rows` then
//! `TableSchema::conform_remote` per row) and the page parsed straight into columns
//! (`RowPage::parse_json` then `RowPage::conform`, and `RowPage::from_page` of the records).
//! On random pages, both must accept or refuse the same bodies and give every row the same
//! record, or the same rejection.
//!
//! Seeded: `ROWS_SEED` (default fixed) and `ROWS_CASES` (default 3000); a failure prints the
//! seed that replays it with `ROWS_SEED=<seed> ROWS_CASES=1`.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::json;
use sync_core::backend::{Page, RowPage};
use sync_core::{Column, ColumnType, TableSchema};

use super::{parse_rows, RawResponse};

/// splitmix64: a case is a function of its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

fn schema() -> Arc<TableSchema> {
    let columns = vec![
        Column::new("text", ColumnType::String),
        Column::nullable("note", ColumnType::String),
        Column::new("done", ColumnType::Bool),
        Column::nullable("n", ColumnType::Integer),
        Column::nullable("r", ColumnType::Real),
        Column::nullable("due", ColumnType::DateTime),
        Column::nullable("meta", ColumnType::Json),
        Column { default: Some(json!(7)), ..Column::new("d", ColumnType::Integer) },
    ];
    Arc::new(TableSchema::new("T", columns).unwrap())
}

const KEYS: &[&str] = &[
    "\"id\"",
    "\"id\"",
    "\"text\"",
    "\"note\"",
    "\"done\"",
    "\"n\"",
    "\"r\"",
    "\"due\"",
    "\"meta\"",
    "\"d\"",
    "\"createdAt\"",
    "\"updatedAt\"",
    "\"updatedAt\"",
    "\"version\"",
    "\"deleted\"",
    "\"extra\"",
    "\"te\\u0078t\"",
    "\"\\u0069d\"",
    "\"Text\"",
];

const IDS: &[&str] =
    &["\"a1\"", "\"b-2\"", "\"c_3\"", "\"\\u0061b\"", "\"é\"", "\"a/b\"", "\"\"", "5", "null", "\"x y\""];

const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "1",
    "2",
    "-5",
    "5.0",
    "1.5",
    "1e300",
    "18446744073709551615",
    "9223372036854775808",
    "-9223372036854775808",
    "9007199254740993.0",
    "\"plain\"",
    "\"with \\\"quote\\\"\"",
    "\"tab\\t\"",
    "\"é\"",
    "\"\\u00e9\"",
    "\"\"",
    "\"2024-01-02T03:04:05.678Z\"",
    "\"2024-01-02T03:04:05Z\"",
    "\"2024-01-02T04:04:05+01:00\"",
    "\"2024-02-30T00:00:00.000Z\"",
    "\"2024-01-02T03:04:05.6789Z\"",
    "\"yesterday\"",
    "\"{\\\"a\\\":[1]}\"",
    "\"[1,2]\"",
    "\"5\"",
    "\"true\"",
    "[1,\"a\"]",
    "{\"x\":1}",
    "[]",
    "{}",
    "\"MQ==\"",
];

const DATES: &[&str] = &[
    "\"2024-01-02T03:04:05.678Z\"",
    "\"2024-01-02T03:04:05Z\"",
    "\"2024-01-02T04:04:05.000+01:00\"",
    "null",
    "\"2024-13-01T00:00:00.000Z\"",
];

fn row(rng: &mut Rng) -> String {
    match rng.below(40) {
        0 => return rng.pick(&["5", "\"row\"", "null", "[1]", "true"]).to_owned(),
        1 => return "{}".to_owned(),
        _ => {}
    }
    let mut fields = Vec::new();
    if rng.below(12) != 0 {
        let id = if rng.below(4) == 0 { rng.pick(IDS) } else { "\"ok-id\"" };
        fields.push(format!("\"id\":{id}"));
    }
    for _ in 0..rng.below(12) {
        let key = rng.pick(KEYS);
        let value = match key {
            "\"id\"" | "\"\\u0069d\"" => rng.pick(IDS),
            "\"createdAt\"" | "\"updatedAt\"" | "\"due\"" if rng.below(3) != 0 => rng.pick(DATES),
            "\"deleted\"" if rng.below(2) == 0 => rng.pick(&["true", "false", "0", "1", "null"]),
            _ => rng.pick(VALUES),
        };
        fields.push(format!("{key}:{value}"));
    }
    // Any order, duplicates included.
    for i in (1..fields.len()).rev() {
        fields.swap(i, rng.below(i + 1));
    }
    format!("{{{}}}", fields.join(","))
}

fn body(rng: &mut Rng) -> String {
    let rows: Vec<String> = (0..rng.below(7)).map(|_| row(rng)).collect();
    let rows = format!("[{}]", rows.join(","));
    match rng.below(5) {
        0 => format!("{{\"results\":{rows},\"count\":{}}}", rng.pick(&["3", "-1", "1.5", "\"x\"", "0"])),
        1 => format!("{{\"count\":2,\"results\":{rows},\"other\":[{{}}]}}"),
        _ => rows,
    }
}

fn raw(body: &str) -> RawResponse {
    RawResponse { status: StatusCode::OK, headers: HeaderMap::new(), body: body.as_bytes().to_vec() }
}

fn check(schema: &Arc<TableSchema>, body: &str) -> Result<(), String> {
    let old = parse_rows(&raw(body));
    let new = RowPage::parse_json(schema, body.as_bytes().to_vec());
    let (records, count, mut page) = match (old, new) {
        (Err(_), Err(_)) => return Ok(()),
        (Ok((records, count)), Ok(page)) => (records, count, page),
        (old, new) => return Err(format!("records: {:?}\npage: {:?}", old.map(|r| r.0.len()), new.map(|p| p.len()))),
    };
    if (page.len(), page.total) != (records.len(), count) {
        return Err(format!(
            "{} rows, count {:?}; records: {} rows, count {count:?}",
            page.len(),
            page.total,
            records.len()
        ));
    }
    for (i, record) in records.iter().enumerate() {
        let keys = (page.id(i), page.updated_at(i), page.version(i), page.is_deleted(i));
        let expected = (record.id(), record.updated_at(), record.version(), record.is_deleted());
        if keys != expected {
            return Err(format!("row {i}: system columns {keys:?}, records {expected:?}"));
        }
    }
    let mut built = RowPage::from_page(schema, Page { items: records.clone(), has_next_link: false, total: None });
    for (name, page) in [("parsed", &mut page), ("from records", &mut built)] {
        let misfits = page.conform();
        let mut misfits = misfits.iter().peekable();
        for (i, record) in records.iter().enumerate() {
            let expected = schema.conform_remote(record.clone());
            let got = match misfits.next_if(|m| m.row == i) {
                Some(m) => {
                    if m.updated_at.as_deref() != record.updated_at() {
                        return Err(format!(
                            "{name}, row {i}: rejected at {:?}, sent {:?}",
                            m.updated_at,
                            record.updated_at()
                        ));
                    }
                    Err(m.error.clone())
                }
                None => Ok(page.record(i).map_err(|e| format!("{name}, row {i}: {e}"))?),
            };
            if got != expected {
                return Err(format!("{name}, row {i}:\n  page:    {got:?}\n  records: {expected:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn pages_parsed_into_columns_read_as_records_do() {
    let first = std::env::var("ROWS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(17_u64);
    let cases = std::env::var("ROWS_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(3000_u64);
    println!("differential pages: {cases} cases from seed {first} (replay one with ROWS_SEED=<seed> ROWS_CASES=1)");
    let schema = schema();
    for seed in first..first + cases {
        let body = body(&mut Rng(seed));
        if let Err(e) = check(&schema, &body) {
            panic!("seed {seed}: {e}\nbody: {body}\nreplay: ROWS_SEED={seed} ROWS_CASES=1");
        }
    }
}

#[test]
fn hand_picked_pages_read_alike() {
    let schema = schema();
    for body in [
        r#"[{"id":"a","text":"x","done":1,"n":5.0,"r":5,"due":"2024-01-02T04:04:05+01:00","meta":"{\"k\":1}","d":null}]"#,
        r#"[{"id":"a","text":"x","done":true,"updatedAt":"2024-01-02T03:04:05Z","n":1.5}]"#,
        r#"{"results":[{"id":"a","deleted":1,"text":"t","done":false}],"count":1}"#,
        r#"[{"id":"a","text":"x","done":true}] x"#,
        r#"[{"id":"a","text":"\ud83d\ude00","done":true,"note":"\u0000"}]"#,
    ] {
        check(&schema, body).unwrap_or_else(|e| panic!("{e}\nbody: {body}"));
    }
}
