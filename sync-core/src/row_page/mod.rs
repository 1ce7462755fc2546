//! [`RowPage`]: one pulled page with each row's values in its table's column order.
//!
//! A page parsed from a JSON body ([`RowPage::parse_json`]) keeps the body and points into it
//! for every string without escapes, so a pulled row costs no map, no key and no string copy
//! before the store binds it (the pull's CPU per row; BENCHMARKS.md, "Pull CPU"). Remotes that
//! have [`Record`]s instead build a page with [`RowPage::from_page`]; both conform alike
//! ([`RowPage::conform`] is [`TableSchema::conform_remote`] for every row).

mod conform;
mod parse;

pub use conform::RowError;

use std::ops::Range;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{RecordError, StoreError};
use crate::record::Record;
use crate::remote::Page;
use crate::schema::{system, TableSchema};

/// One pulled page: rows of one table, each a cell per column in the order of
/// [`TableSchema::columns`].
///
/// ```
/// use std::sync::Arc;
/// use sync_core::backend::{Field, RowPage};
/// use sync_core::{Column, ColumnType, TableSchema};
///
/// let schema = Arc::new(TableSchema::new("T", vec![Column::new("text", ColumnType::String)]).unwrap());
/// let body = br#"[{"id":"a","text":"milk","updatedAt":"2024-01-02T03:04:05.000Z","extra":1}]"#.to_vec();
/// let mut page = RowPage::parse_json(&schema, body).unwrap();
/// assert!(page.conform().is_empty());
/// let text = schema.columns().iter().position(|c| c.name == "text").unwrap();
/// assert_eq!(page.field(0, text), Field::Text("milk"));
/// assert_eq!(page.record(0).unwrap().get("extra"), None);
/// ```
#[derive(Debug, Clone)]
pub struct RowPage {
    schema: Arc<TableSchema>,
    /// The body that [`Cell::Text`] ranges point into (empty for a page made of records).
    body: String,
    /// `len() × width` cells, row after row.
    cells: Vec<Cell>,
    width: usize,
    keys: SystemIndexes,
    /// Whether the server announced a next page (`Link: …; rel=next`).
    pub has_next_link: bool,
    /// How many rows match the query on all its pages, when the server was asked and said
    /// (see [`Page::total`]).
    pub total: Option<u64>,
}

/// One value of a row as parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// The row has no such field.
    Missing,
    /// A string without escapes: its bytes in the page's body.
    Text(Range<usize>),
    /// Any other value (null, boolean, number, array, object, a string with escapes, or one
    /// made while conforming).
    Json(Value),
}

/// A field of a row as a store binds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// The row has no such field (only before [`RowPage::conform`]).
    Missing,
    /// A string, borrowed from the page. After conforming, only `String` and `DateTime`
    /// columns hold these (a `DateTime` one in canonical form).
    Text(&'a str),
    /// Any other JSON value, strings with escapes among them.
    Json(&'a Value),
}

impl<'a> Field<'a> {
    /// The field's text, if it is a string.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Field::Text(s) => Some(s),
            Field::Json(v) => v.as_str(),
            Field::Missing => None,
        }
    }
}

/// Where the system columns are in a row.
#[derive(Debug, Clone, Copy)]
struct SystemIndexes {
    id: usize,
    created_at: usize,
    updated_at: usize,
    version: usize,
    deleted: usize,
}

impl SystemIndexes {
    fn of(schema: &TableSchema) -> SystemIndexes {
        // Every schema has the system columns (`TableSchema::new` adds them).
        let at = |name: &str| schema.columns().iter().position(|c| c.name == name).unwrap_or(0);
        SystemIndexes {
            id: at(system::ID),
            created_at: at(system::CREATED_AT),
            updated_at: at(system::UPDATED_AT),
            version: at(system::VERSION),
            deleted: at(system::DELETED),
        }
    }
}

impl RowPage {
    fn empty(schema: &Arc<TableSchema>, body: String) -> RowPage {
        RowPage {
            schema: Arc::clone(schema),
            body,
            cells: Vec::new(),
            width: schema.columns().len(),
            keys: SystemIndexes::of(schema),
            has_next_link: false,
            total: None,
        }
    }

    /// The page of a remote that answers with records: each record's fields placed by
    /// column, the fields the table does not have dropped (as
    /// [`TableSchema::conform_remote`] drops them).
    pub fn from_page(schema: &Arc<TableSchema>, page: Page) -> RowPage {
        let mut out = RowPage::empty(schema, String::new());
        out.cells.reserve(page.items.len() * out.width);
        for record in page.items {
            let mut map = record.into_map();
            for col in schema.columns() {
                out.cells.push(map.remove(&col.name).map_or(Cell::Missing, Cell::Json));
            }
        }
        out.has_next_link = page.has_next_link;
        out.total = page.total;
        out
    }

    /// The table's schema.
    pub fn schema(&self) -> &Arc<TableSchema> {
        &self.schema
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether the page has no rows.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    fn cell(&self, row: usize, column: usize) -> &Cell {
        &self.cells[row * self.width + column]
    }

    fn row_cells_mut(&mut self, row: usize) -> (&str, &mut [Cell]) {
        let at = row * self.width;
        (&self.body, &mut self.cells[at..at + self.width])
    }

    /// The field of `row` at position `column` of [`TableSchema::columns`].
    ///
    /// # Panics
    /// If `row` or `column` is out of range.
    pub fn field(&self, row: usize, column: usize) -> Field<'_> {
        match self.cell(row, column) {
            Cell::Missing => Field::Missing,
            // Ranges come from the body's own string slices, so they are on char boundaries.
            Cell::Text(range) => Field::Text(self.body.get(range.clone()).unwrap_or_default()),
            Cell::Json(v) => Field::Json(v),
        }
    }

    /// The id of `row` (checked valid when the page was made).
    pub fn id(&self, row: usize) -> &str {
        self.field(row, self.keys.id).as_str().unwrap_or_default()
    }

    /// The `updatedAt` of `row` as the server sent it, if any.
    pub fn updated_at(&self, row: usize) -> Option<&str> {
        self.field(row, self.keys.updated_at).as_str()
    }

    /// The `version` of `row`, if any.
    pub fn version(&self, row: usize) -> Option<&str> {
        self.field(row, self.keys.version).as_str()
    }

    /// Whether `row` is soft-deleted (`deleted: true`).
    pub fn is_deleted(&self, row: usize) -> bool {
        matches!(self.field(row, self.keys.deleted), Field::Json(Value::Bool(true)))
    }

    /// `row` as a record, with the fields it has.
    pub fn record(&self, row: usize) -> Result<Record, RecordError> {
        let mut map = Map::new();
        for (i, col) in self.schema.columns().iter().enumerate() {
            let value = match self.field(row, i) {
                Field::Missing => continue,
                Field::Text(s) => Value::String(s.to_owned()),
                Field::Json(v) => v.clone(),
            };
            map.insert(col.name.clone(), value);
        }
        Record::new(map)
    }

    /// The rows at indexes `rows` as records (see [`record`](Self::record)), a fault named with
    /// the page's table.
    pub fn records(&self, rows: &[usize]) -> Result<Vec<Record>, StoreError> {
        rows.iter().map(|&row| self.record(row).map_err(|e| StoreError::record(self.schema.name(), e))).collect()
    }

    /// Keeps the rows for which `keep` (indexed by row) is true, in order.
    pub(crate) fn retain_rows(&mut self, keep: &[bool]) {
        let width = self.width;
        let mut row = 0;
        let mut write = 0;
        while row * width < self.cells.len() {
            if keep.get(row).copied().unwrap_or(true) {
                if write != row {
                    for c in 0..width {
                        self.cells.swap(write * width + c, row * width + c);
                    }
                }
                write += 1;
            }
            row += 1;
        }
        self.cells.truncate(write * width);
    }

    /// Views of every row, for code that reads the system columns of a page's rows.
    pub(crate) fn rows(&self) -> Vec<RowRef<'_>> {
        (0..self.len()).map(|row| RowRef { page: self, row }).collect()
    }
}

/// One row of a [`RowPage`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowRef<'a> {
    page: &'a RowPage,
    /// The row's index in the page.
    pub(crate) row: usize,
}

/// The system columns of a pulled row, as the pull's position logic reads them.
pub(crate) trait RowKeys {
    /// The id.
    fn id(&self) -> &str;
    /// `updatedAt` as sent.
    fn updated_at(&self) -> Option<&str>;
    /// `version` as sent.
    fn version(&self) -> Option<&str>;
}

impl RowKeys for Record {
    fn id(&self) -> &str {
        Record::id(self)
    }
    fn updated_at(&self) -> Option<&str> {
        Record::updated_at(self)
    }
    fn version(&self) -> Option<&str> {
        Record::version(self)
    }
}

impl RowKeys for RowRef<'_> {
    fn id(&self) -> &str {
        self.page.id(self.row)
    }
    fn updated_at(&self) -> Option<&str> {
        self.page.updated_at(self.row)
    }
    fn version(&self) -> Option<&str> {
        self.page.version(self.row)
    }
}

#[cfg(test)]
mod tests;
