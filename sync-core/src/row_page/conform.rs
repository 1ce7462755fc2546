//! Conforming a page's rows in place: [`TableSchema::conform_remote`] cell by cell.

use std::borrow::Cow;

use serde_json::Value;

use super::parse::cell_str;
use super::{Cell, RowPage};

/// A row of a page that does not fit its table's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The row's index in the page.
    pub row: usize,
    /// Its `updatedAt` as the server sent it.
    pub updated_at: Option<String>,
    /// Why it does not fit.
    pub error: RecordError,
}
use crate::error::RecordError;
use crate::field_order::fields_iterate_sorted;
use crate::schema::{conform_slot, is_canonical_datetime, system, Column, ColumnType, TableSchema};

impl RowPage {
    /// Conforms every row to the table's schema exactly as [`TableSchema::conform_remote`]
    /// conforms a record: each value to its column's type in canonical form, a missing
    /// `deleted` as `false` and other missing columns as null where they may be, then the
    /// schema's value checks. Returns the rows that do not fit, in order, each with the error
    /// `conform_remote` would give it; their cells are left in any state and must not be stored.
    pub fn conform(&mut self) -> Vec<RowError> {
        let schema = std::sync::Arc::clone(&self.schema);
        // The order `conform_remote` meets fields in, so a row with several faults names the same one.
        let order: Vec<&Column> = match fields_iterate_sorted() {
            true => schema.columns_by_name().collect(),
            false => schema.columns().iter().collect(),
        };
        let positions: Vec<usize> =
            order.iter().map(|c| schema.columns().iter().position(|o| o.name == c.name).unwrap_or(0)).collect();
        let mut rejected = Vec::new();
        let updated_at = self.keys.updated_at;
        for row in 0..self.len() {
            let (body, cells) = self.row_cells_mut(row);
            // Conforming may rewrite `updatedAt`; a rejected row is reported as it was sent.
            let sent = cells[updated_at].clone();
            if let Err(error) = conform_row(&schema, &order, &positions, body, cells) {
                let updated_at = cell_str(body, &sent).map(str::to_owned);
                rejected.push(RowError { row, updated_at, error });
            }
        }
        rejected
    }
}

fn conform_row(
    schema: &TableSchema,
    order: &[&Column],
    positions: &[usize],
    body: &str,
    cells: &mut [Cell],
) -> Result<(), RecordError> {
    for (col, &i) in order.iter().zip(positions) {
        conform_cell(col, body, &mut cells[i])?;
    }
    for (col, &i) in order.iter().zip(positions) {
        if cells[i] == Cell::Missing {
            cells[i] = Cell::Json(match col.name == system::DELETED {
                true => Value::Bool(false),
                false if col.nullable => Value::Null,
                false => return Err(RecordError::NullValue { column: col.name.clone() }),
            });
        }
    }
    if !schema.checks.is_empty() {
        let columns = schema.columns();
        schema.checks.run_on(|name| {
            let i = columns.iter().position(|c| c.name == name)?;
            match &cells[i] {
                Cell::Missing => None,
                Cell::Text(_) => cell_str(body, &cells[i]).map(|s| Cow::Owned(Value::String(s.to_owned()))),
                Cell::Json(v) => Some(Cow::Borrowed(v)),
            }
        })?;
    }
    Ok(())
}

/// One present value in canonical form; a string is left in the body where it already is.
fn conform_cell(col: &Column, body: &str, cell: &mut Cell) -> Result<(), RecordError> {
    match cell {
        Cell::Missing => Ok(()),
        Cell::Json(v) => conform_slot(col, v, false),
        Cell::Text(_) => {
            let text = cell_str(body, cell).unwrap_or_default();
            match col.ty {
                ColumnType::String => Ok(()),
                ColumnType::DateTime if is_canonical_datetime(text) => Ok(()),
                // Everything else as a record would have it: a string value.
                _ => {
                    let mut value = Value::String(text.to_owned());
                    conform_slot(col, &mut value, false)?;
                    *cell = Cell::Json(value);
                    Ok(())
                }
            }
        }
    }
}
