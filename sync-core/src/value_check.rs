//! Checks of column values beyond their column type, by the fields' Rust types: a derived schema
//! asks each [`SyncValue`](crate::SyncValue) field type of the derive's own choosing (an enum's
//! variant names, a UUID's form, a `#[sync(json)]` field's shape) whether it reads a value, so
//! a server row it refuses is rejected alone when pulled instead of failing every later read.
//!
//! The checks are code, not data: they are never serialised, a schema read back from a store has
//! none, and two schemas that differ only in their checks are equal (a store compares the schema
//! it holds with the one the app declares to decide whether the table changed).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{RecordError, ValueError};

/// Reads a non-null value as the field's type would, keeping only whether it could.
pub(crate) type CheckFn = fn(&Value) -> Result<(), ValueError>;

/// A schema's value checks, by column name.
#[derive(Clone, Default)]
pub(crate) struct ValueChecks(Vec<(String, CheckFn)>);

impl ValueChecks {
    /// Adds the check of `column`.
    pub(crate) fn push(&mut self, column: &str, check: CheckFn) {
        self.0.push((column.to_owned(), check));
    }

    /// Whether every checked non-null value of `map` passes.
    pub(crate) fn pass(&self, map: &Map<String, Value>) -> bool {
        self.0.is_empty() || self.run(map).is_ok()
    }

    /// The first checked non-null value of `map` that fails, as an error naming its column.
    pub(crate) fn run(&self, map: &Map<String, Value>) -> Result<(), RecordError> {
        self.run_on(|column| map.get(column).map(Cow::Borrowed))
    }

    /// Whether there is no check at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// [`run`](Self::run) over a row that `field` reads by column name (a pulled page's cells).
    pub(crate) fn run_on<'a>(&self, field: impl Fn(&str) -> Option<Cow<'a, Value>>) -> Result<(), RecordError> {
        for (column, check) in &self.0 {
            if let Some(value) = field(column).filter(|v| !v.is_null()) {
                check(&value)
                    .map_err(|e| RecordError::Field { field: column.clone(), message: e.message().to_owned() })?;
            }
        }
        Ok(())
    }
}

/// Checks do not make schemas differ (see the module's documentation).
impl PartialEq for ValueChecks {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ValueChecks {}

impl std::fmt::Debug for ValueChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(column, _)| column)).finish()
    }
}
