//! A page of rows as the response's JSON, written straight from the database's rows: no item map
//! per row, no `serde_json::Value` per value (a pull serves thousands of rows per request, and
//! building and dropping a map of owned strings per row was most of the server's own work).
//!
//! The bytes are those serde_json writes for the same rows as [`Item`](super::Item)s: compact,
//! keys in byte order (an `Item` is a sorted map), strings escaped and numbers formatted by
//! serde_json itself, whole floats as integers ([`real_json`]), JSON columns parsed and written
//! again (text that is not JSON as a string). A `$select` keeps only the columns it names, and a
//! `per_user` table's owner column stays on the server (as [`crate::ops::scrub`] does for items).

use serde_json::Value;
use sync_core::{Column, ColumnType};

use super::real_json;
use crate::error::Error;
use crate::table::{TableDef, OWNER};

/// One stored row, read by column index: each backend's row type.
pub(crate) trait RowValues {
    /// A text value (strings, date-times, JSON text).
    fn text(&self, i: usize) -> Result<Option<&str>, sqlx::Error>;
    /// A boolean.
    fn boolean(&self, i: usize) -> Result<Option<bool>, sqlx::Error>;
    /// An integer.
    fn integer(&self, i: usize) -> Result<Option<i64>, sqlx::Error>;
    /// A float.
    fn real(&self, i: usize) -> Result<Option<f64>, sqlx::Error>;
}

/// One output field: where its value is in the row, its type, and its key as JSON with the
/// separator before it (`{"id":` for the first, `,"name":` for the others).
#[derive(Debug)]
struct Field {
    index: usize,
    ty: ColumnType,
    key: Vec<u8>,
}

/// Writes the rows of a page as one JSON array.
#[derive(Debug)]
pub(crate) struct PageWriter {
    fields: Vec<Field>,
    out: Vec<u8>,
    rows: u64,
}

impl PageWriter {
    /// A writer for rows of `SELECT <select_list(columns)>` of `table`, keeping the `select`ed
    /// columns (all when `None`), for about `rows` rows.
    pub(crate) fn new(table: &TableDef, columns: &[Column], select: Option<&[String]>, rows: usize) -> Self {
        let mut kept: Vec<(usize, &Column)> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| select.is_none_or(|s| s.contains(&c.name)))
            .filter(|(_, c)| !(table.options.per_user && c.name == OWNER))
            .collect();
        // The order serde_json writes an `Item` (a `BTreeMap<String, Value>`) in.
        kept.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        let fields: Vec<Field> = kept
            .into_iter()
            .enumerate()
            .map(|(k, (index, c))| {
                let mut key = Vec::with_capacity(c.name.len() + 4);
                key.push(if k == 0 { b'{' } else { b',' });
                write_str(&mut key, &c.name);
                key.push(b':');
                Field { index, ty: c.ty, key }
            })
            .collect();
        // About 30 bytes a value (keys, a version, a date-time) is a first guess that saves
        // most of the regrowing.
        let capacity = rows.saturating_mul(fields.iter().map(|f| f.key.len() + 30).sum::<usize>() + 2);
        let mut out = Vec::with_capacity(capacity.min(1 << 24));
        out.push(b'[');
        PageWriter { fields, out, rows: 0 }
    }

    /// Appends one row.
    pub(crate) fn row(&mut self, row: &impl RowValues) -> Result<(), Error> {
        if self.rows > 0 {
            self.out.push(b',');
        }
        if self.fields.is_empty() {
            self.out.extend_from_slice(b"{}");
        }
        for field in &self.fields {
            self.out.extend_from_slice(&field.key);
            write_value(&mut self.out, row, field.index, field.ty)?;
        }
        if !self.fields.is_empty() {
            self.out.push(b'}');
        }
        self.rows += 1;
        Ok(())
    }

    /// The JSON array and how many rows it holds.
    pub(crate) fn finish(mut self) -> (Vec<u8>, u64) {
        self.out.push(b']');
        (self.out, self.rows)
    }
}

/// A string as JSON, escaped by serde_json.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a `Vec` cannot fail, and a `str` always serializes.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// One value as JSON, as [`Value`] would be written.
fn write_value(out: &mut Vec<u8>, row: &impl RowValues, i: usize, ty: ColumnType) -> Result<(), Error> {
    let null = |out: &mut Vec<u8>| out.extend_from_slice(b"null");
    match ty {
        ColumnType::String | ColumnType::DateTime => match row.text(i)? {
            Some(s) => write_str(out, s),
            None => null(out),
        },
        ColumnType::Bool => match row.boolean(i)? {
            Some(true) => out.extend_from_slice(b"true"),
            Some(false) => out.extend_from_slice(b"false"),
            None => null(out),
        },
        ColumnType::Integer => match row.integer(i)? {
            Some(n) => write_json(out, &Value::from(n))?,
            None => null(out),
        },
        ColumnType::Real => match row.real(i)? {
            Some(f) => write_json(out, &real_json(f))?,
            None => null(out),
        },
        ColumnType::Json => match row.text(i)? {
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(v) => write_json(out, &v)?,
                Err(_) => write_str(out, text),
            },
            None => null(out),
        },
    }
    Ok(())
}

fn write_json(out: &mut Vec<u8>, v: &Value) -> Result<(), Error> {
    serde_json::to_writer(&mut *out, v).map_err(|e| Error::internal(format!("a value cannot be written as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Item;
    use crate::table::TableOptions;

    /// A row of JSON values, as a backend would read them.
    struct Fake(Vec<Value>);

    impl RowValues for Fake {
        fn text(&self, i: usize) -> Result<Option<&str>, sqlx::Error> {
            Ok(self.0[i].as_str())
        }
        fn boolean(&self, i: usize) -> Result<Option<bool>, sqlx::Error> {
            Ok(self.0[i].as_bool())
        }
        fn integer(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
            Ok(self.0[i].as_i64())
        }
        fn real(&self, i: usize) -> Result<Option<f64>, sqlx::Error> {
            Ok(self.0[i].as_f64())
        }
    }

    fn columns() -> Vec<Column> {
        let mut c = crate::table::system_columns();
        for (name, ty) in [
            ("zeta", ColumnType::String),
            ("n", ColumnType::Real),
            ("i", ColumnType::Integer),
            ("Flag", ColumnType::Bool),
            ("d", ColumnType::DateTime),
            ("j", ColumnType::Json),
            (OWNER, ColumnType::String),
        ] {
            c.push(Column::nullable(name, ty));
        }
        c
    }

    fn table(per_user: bool) -> TableDef {
        TableDef {
            name: "T".into(),
            columns: vec![],
            dynamic: false,
            options: TableOptions { per_user, ..TableOptions::default() },
        }
    }

    /// What the server wrote before: an item map per row, through `serde_json`.
    fn as_items(table: &TableDef, columns: &[Column], rows: &[Fake], select: Option<&[String]>) -> Vec<u8> {
        let items: Vec<Value> = rows
            .iter()
            .map(|row| {
                let mut item = Item::new();
                for (i, c) in columns.iter().enumerate() {
                    let v = &row.0[i];
                    let v = match c.ty {
                        ColumnType::Real => v.as_f64().map(real_json).unwrap_or(Value::Null),
                        ColumnType::Json => match v.as_str() {
                            Some(t) => serde_json::from_str(t).unwrap_or(Value::String(t.to_owned())),
                            None => Value::Null,
                        },
                        _ => v.clone(),
                    };
                    item.insert(c.name.clone(), v);
                }
                if let Some(select) = select {
                    item.retain(|k, _| select.iter().any(|s| s == k));
                }
                Value::Object(crate::ops::scrub(table, item))
            })
            .collect();
        serde_json::to_vec(&items).unwrap()
    }

    fn rows() -> Vec<Fake> {
        let row = |id: &str, rest: Vec<Value>| {
            let mut v = vec![
                Value::from(id),
                Value::from("2024-01-01T00:00:00.000Z"),
                Value::from("2024-01-02T00:00:00.000Z"),
                Value::from("v1"),
                Value::from(false),
            ];
            v.extend(rest);
            Fake(v)
        };
        vec![
            row(
                "a",
                vec![
                    Value::from("quote \" backslash \\ newline \n tab \t nul \u{0} é 😀"),
                    Value::from(5.0),
                    Value::from(-7),
                    Value::from(true),
                    Value::from("2024-06-15T12:30:45.678Z"),
                    Value::from(r#"{ "b": [1, 2.50, null], "a": "x" }"#),
                    Value::from("alice"),
                ],
            ),
            row(
                "b",
                vec![
                    Value::Null,
                    Value::from(0.1 + 0.2),
                    Value::from(i64::MAX),
                    Value::from(false),
                    Value::Null,
                    Value::from("not json"),
                    Value::Null,
                ],
            ),
            row(
                "c",
                vec![
                    Value::from(""),
                    Value::from(1e300),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::from("bob"),
                ],
            ),
        ]
    }

    fn written(table: &TableDef, columns: &[Column], rows: &[Fake], select: Option<&[String]>) -> Vec<u8> {
        let mut page = PageWriter::new(table, columns, select, rows.len());
        for row in rows {
            page.row(row).unwrap();
        }
        let (bytes, n) = page.finish();
        assert_eq!(n, rows.len() as u64);
        bytes
    }

    #[test]
    fn a_page_is_byte_for_byte_what_the_item_maps_were() {
        let columns = columns();
        for per_user in [false, true] {
            let table = table(per_user);
            let rows = rows();
            let want = as_items(&table, &columns, &rows, None);
            let got = written(&table, &columns, &rows, None);
            assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap());
        }
    }

    #[test]
    fn select_keeps_the_columns_it_names_and_never_the_owner() {
        let columns = columns();
        let rows = rows();
        for select in [vec!["zeta".to_owned(), "id".to_owned()], vec![], vec![OWNER.to_owned(), "n".to_owned()]] {
            for per_user in [false, true] {
                let table = table(per_user);
                let want = as_items(&table, &columns, &rows, Some(&select));
                let got = written(&table, &columns, &rows, Some(&select));
                assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap(), "{select:?}");
            }
        }
    }

    #[test]
    fn an_empty_page_is_an_empty_array() {
        let (bytes, n) = PageWriter::new(&table(false), &columns(), None, 0).finish();
        assert_eq!((bytes.as_slice(), n), (b"[]".as_slice(), 0));
    }
}
