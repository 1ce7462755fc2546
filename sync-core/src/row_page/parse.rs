//! A query response body parsed straight into a [`RowPage`]'s cells: the keys matched against
//! the table's columns as they are read, strings without escapes left in the body.

use std::fmt;
use std::sync::Arc;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::{Number, Value};

use super::{Cell, RowPage, SystemIndexes};
use crate::error::{RecordError, RemoteError};
use crate::query::odata::is_odata_datetime;
use crate::record::validate_id;
use crate::schema::{system, TableSchema};

impl RowPage {
    /// Parses a query response body: a JSON array of rows, or `{"results": […], "count": N}`
    /// (the answer to `$inlinecount=allpages`, whose count becomes [`total`](RowPage::total)
    /// when it is a non-negative integer).
    ///
    /// Every row is checked as a server's item must be, and any that is not fails the whole
    /// page with [`RemoteError::Protocol`]: an object with a valid `id`; `createdAt` and
    /// `updatedAt` strings shaped as ISO-8601 date-times (a pull cursor is made of `updatedAt`)
    /// or null; `version` a string or null; `deleted` a boolean or null (`0`/`1`, as some SQL
    /// providers send it, become booleans). Fields the table does not have are skipped; the
    /// values are not conformed yet ([`conform`](RowPage::conform)).
    pub fn parse_json(schema: &Arc<TableSchema>, body: Vec<u8>) -> Result<RowPage, RemoteError> {
        let body = String::from_utf8(body).map_err(|e| not_json(&e))?;
        let mut page = RowPage::empty(schema, String::new());
        let columns = ColumnLookup::of(schema);
        let total = {
            let target = Target { body: &body, columns: &columns, width: page.width, keys: page.keys };
            let mut de = serde_json::Deserializer::from_str(&body);
            ResponseSeed { target: &target, cells: &mut page.cells }
                .deserialize(&mut de)
                .and_then(|total| de.end().map(|()| total))
                .map_err(|e| match e.classify() {
                    // Our own messages: the response is JSON, but not a page of items.
                    Category::Data => RemoteError::protocol(e.to_string()),
                    _ => not_json(&e),
                })?
        };
        page.body = body;
        page.total = total;
        Ok(page)
    }
}

fn not_json(e: &dyn std::error::Error) -> RemoteError {
    RemoteError::protocol(format!("the response is not JSON: {e}"))
}

/// The table's column names, sorted, with their positions: a key is found by binary search.
struct ColumnLookup<'s>(Vec<(&'s str, usize)>);

impl<'s> ColumnLookup<'s> {
    fn of(schema: &'s TableSchema) -> Self {
        let mut names: Vec<(&str, usize)> =
            schema.columns().iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
        names.sort_unstable();
        ColumnLookup(names)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.binary_search_by(|(name, _)| (*name).cmp(key)).ok().map(|i| self.0[i].1)
    }
}

/// What the seeds share: where the body is, and how rows are laid out.
struct Target<'a> {
    body: &'a str,
    columns: &'a ColumnLookup<'a>,
    width: usize,
    keys: SystemIndexes,
}

impl Target<'_> {
    /// A string's cell: its range in the body when it is a slice of it, else its own copy.
    fn text_cell(&self, s: &str) -> Cell {
        let start = (s.as_ptr() as usize).checked_sub(self.body.as_ptr() as usize);
        match start {
            Some(start) if start + s.len() <= self.body.len() => Cell::Text(start..start + s.len()),
            _ => Cell::Json(Value::String(s.to_owned())),
        }
    }
}

/// The whole response; yields the count of `{"results", "count"}`, if any.
struct ResponseSeed<'t, 'c> {
    target: &'t Target<'t>,
    cells: &'c mut Vec<Cell>,
}

impl<'de> DeserializeSeed<'de> for ResponseSeed<'_, '_> {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<u64>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResponseSeed<'_, '_> {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of items, or an object with a \"results\" array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<u64>, A::Error> {
        read_rows(self.target, self.cells, seq)?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<u64>, A::Error> {
        let (mut results, mut count) = (false, None);
        while let Some(key) = map.next_key::<KeyName>()? {
            match key.0.as_str() {
                "results" => {
                    // A key given twice counts as its last value, as in a JSON map.
                    self.cells.clear();
                    results = map.next_value_seed(ResultsSeed { target: self.target, cells: self.cells })?;
                }
                "count" => count = map.next_value::<Value>()?.as_u64(),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !results {
            return Err(de::Error::custom("the query response is an object without a \"results\" array"));
        }
        Ok(count)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<u64>, E> {
        Err(not_a_page("boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<u64>, E> {
        Err(not_a_page("number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<u64>, E> {
        Err(not_a_page("number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<u64>, E> {
        Err(not_a_page("number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<u64>, E> {
        Err(not_a_page("string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
        Err(not_a_page("null"))
    }
}

fn not_a_page<E: de::Error>(found: &str) -> E {
    E::custom(format!("the query response is a JSON {found}"))
}

/// A map key, owned only when it had to be unescaped.
struct KeyName(String);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        String::deserialize(de).map(KeyName)
    }
}

/// The `results` value: whether it was an array (its rows appended to the cells).
struct ResultsSeed<'t, 'c> {
    target: &'t Target<'t>,
    cells: &'c mut Vec<Cell>,
}

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_, '_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of items")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        read_rows(self.target, self.cells, seq)?;
        Ok(true)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

fn read_rows<'de, A: SeqAccess<'de>>(target: &Target<'_>, cells: &mut Vec<Cell>, mut seq: A) -> Result<(), A::Error> {
    let mut index = 0;
    while seq.next_element_seed(RowSeed { target, cells: &mut *cells, index })?.is_some() {
        index += 1;
    }
    Ok(())
}

/// One row, appended to the cells and checked.
struct RowSeed<'t, 'c> {
    target: &'t Target<'t>,
    cells: &'c mut Vec<Cell>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl RowSeed<'_, '_> {
    fn not_an_object<E: de::Error>(&self, found: &'static str) -> E {
        self.invalid(&RecordError::NotAnObject { found })
    }

    fn invalid<E: de::Error>(&self, e: &dyn fmt::Display) -> E {
        E::custom(format!("row {}: not a valid item: {e}", self.index))
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.cells.len();
        self.cells.resize(base + self.target.width, Cell::Missing);
        while let Some(column) = map.next_key_seed(KeySeed(self.target.columns))? {
            match column {
                Some(i) => self.cells[base + i] = map.next_value_seed(CellSeed(self.target))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        check_system_columns(self.target.body, self.target.keys, &mut self.cells[base..]).map_err(|e| self.invalid(&e))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.not_an_object("boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.not_an_object("integer"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.not_an_object("integer"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.not_an_object("number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.not_an_object("string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.not_an_object("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.not_an_object("array"))
    }
}

/// A key: the position of its column, `None` for a field the table does not have.
struct KeySeed<'a>(&'a ColumnLookup<'a>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<usize>, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.position(key))
    }
}

/// One value of a known column.
struct CellSeed<'t>(&'t Target<'t>);

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = Cell;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Cell, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Cell, E> {
        Ok(Cell::Json(Value::Bool(b)))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Cell, E> {
        Ok(Cell::Json(Value::Number(n.into())))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Cell, E> {
        Ok(Cell::Json(Value::Number(n.into())))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Cell, E> {
        // What `serde_json::Value` makes of it.
        Ok(Cell::Json(Number::from_f64(f).map_or(Value::Null, Value::Number)))
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Cell, E> {
        Ok(self.0.text_cell(s))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell, E> {
        Ok(Cell::Json(Value::String(s.to_owned())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Cell, E> {
        Ok(Cell::Json(Value::String(s)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Json(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Json(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Cell, D::Error> {
        self.deserialize(de)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Cell::Json)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Cell::Json)
    }
}

/// The checks a server's item must pass (see [`RowPage::parse_json`]), in the order a record's
/// are made; `deleted` given as 0/1 becomes a boolean.
fn check_system_columns(body: &str, keys: SystemIndexes, row: &mut [Cell]) -> Result<(), String> {
    match &row[keys.id] {
        Cell::Missing | Cell::Json(Value::Null) => return Err(RecordError::MissingId.to_string()),
        Cell::Json(Value::String(id)) => validate_id(id).map_err(|e| e.to_string())?,
        Cell::Text(_) => validate_id(cell_str(body, &row[keys.id]).unwrap_or_default()).map_err(|e| e.to_string())?,
        Cell::Json(other) => {
            let reason = "the id must be a JSON string";
            return Err(RecordError::InvalidId { id: other.to_string(), reason }.to_string());
        }
    }
    for (index, name) in
        [(keys.created_at, system::CREATED_AT), (keys.updated_at, system::UPDATED_AT), (keys.version, system::VERSION)]
    {
        let cell = &row[index];
        match cell {
            Cell::Missing | Cell::Json(Value::Null) => {}
            Cell::Text(_) | Cell::Json(Value::String(_)) => {
                let text = cell_str(body, cell).unwrap_or_default();
                if name != system::VERSION && !is_odata_datetime(text) {
                    return Err(wrong_type(name, "an ISO-8601 date-time", "another string"));
                }
            }
            Cell::Json(other) => return Err(wrong_type(name, "a string", json_kind(other))),
        }
    }
    let deleted = &mut row[keys.deleted];
    match deleted {
        Cell::Missing | Cell::Json(Value::Bool(_) | Value::Null) => {}
        Cell::Json(Value::Number(n)) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
            *deleted = Cell::Json(Value::Bool(n.as_u64() == Some(1)));
        }
        Cell::Text(_) | Cell::Json(Value::String(_)) => {
            return Err(wrong_type(system::DELETED, "a boolean", "another string"))
        }
        Cell::Json(other) => return Err(wrong_type(system::DELETED, "a boolean", json_kind(other))),
    }
    Ok(())
}

fn wrong_type(column: &str, expected: &str, found: &str) -> String {
    format!("{column:?} must be {expected}, found {found}")
}

/// The JSON type of a value in the words of a protocol error.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The text of a string cell.
pub(super) fn cell_str<'a>(body: &'a str, cell: &'a Cell) -> Option<&'a str> {
    match cell {
        Cell::Text(range) => body.get(range.clone()),
        Cell::Json(Value::String(s)) => Some(s),
        _ => None,
    }
}
