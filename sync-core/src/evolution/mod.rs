//! Schema evolution: what a [`TableSchema`] declares about its earlier versions (defaults, former
//! names, accepted type changes), and the [`SchemaUpgrade`] a store applies when it opens a table
//! stored with another schema. Stores share the plan and the record rewriting here and do only
//! the storage-specific part (SQL, maps).
//!
//! The rules, in `docs/architecture.md` ("Schema evolution"):
//! - a new column gets its default in every stored row (a new non-null column needs one);
//! - a renamed column (`renamed_from`) keeps its values, a renamed table its rows, queue, errors
//!   and cursors;
//! - a stored column the schema no longer has is **retained**: kept in the store untouched, never
//!   read or written, and taken back with its values when a schema has it again;
//! - a type change converts the stored values only when the column says so ([`Column::converted`]);
//! - adding a column forgets the table's pull cursors (unless
//!   [`TableSchema::keep_cursors_on_new_columns`]), so the next pull brings the server's values
//!   for the rows already stored.

mod convert;
mod system_rows;

use serde_json::Value;

pub use convert::{conversion_error, convert_value};
pub(crate) use system_rows::{only_known_columns, with_unsent_columns_of};
pub use system_rows::{rename_config_key, upgrade_system_rows};

use crate::error::{SchemaError, StoreError};
use crate::record::Record;
use crate::schema::{conform_value, system, Column, ColumnType, TableSchema};

impl Column {
    /// Gives the column a default: stored rows that have no value get it when the column is added
    /// (or made non-null), and server rows that come without a value get it when pulled. A new
    /// non-null column needs one. `#[sync(default = …)]` in the derive.
    ///
    /// ```
    /// use sync_core::{Column, ColumnType, TableSchema};
    /// let schema = TableSchema::new("TodoItem", vec![Column::new("priority", ColumnType::Integer).with_default(0)])?;
    /// assert_eq!(schema.column("priority").and_then(|c| c.default.clone()), Some(0.into()));
    /// # Ok::<(), sync_core::error::SchemaError>(())
    /// ```
    pub fn with_default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// Says the column was called `old` before: opening a table stored with a column `old` renames
    /// it, values, queued operations and errors included. `#[sync(renamed_from = "old")]`.
    pub fn renamed_from(mut self, old: impl Into<String>) -> Self {
        self.renamed_from = Some(old.into());
        self
    }

    /// Accepts a change of type: opening a table that stores this column with another type
    /// converts every stored value ([`convert_value`]); a value that does not convert fails the
    /// upgrade with an error naming the row. Without it a type change is
    /// [`StoreError::IncompatibleSchema`]. `#[sync(convert)]`.
    pub fn converted(mut self) -> Self {
        self.convert = true;
        self
    }
}

impl TableSchema {
    /// Says the table was called `old` before: opening a store that holds `old` (and not this
    /// table) renames it, with its rows, queued operations, errors and pull cursors.
    /// `#[sync(table = "New", renamed_from = "Old")]`.
    pub fn renamed_from(mut self, old: impl Into<String>) -> Result<Self, SchemaError> {
        let old = old.into();
        crate::schema::validate_name(&old)?;
        if old == self.name() {
            return Err(SchemaError::Declaration {
                column: old,
                message: "a table cannot be renamed from its own name".into(),
            });
        }
        self.renamed_from = Some(old);
        Ok(self)
    }

    /// The table's former name, if it declares one.
    pub fn previous_name(&self) -> Option<&str> {
        self.renamed_from.as_deref()
    }

    /// Keeps the pull cursors when this schema adds columns to a stored table. By default they
    /// are forgotten, so the next pull downloads the table again and the rows already stored get
    /// the server's values for the new columns; with this the next pull only brings rows changed
    /// since (the stored rows keep the new column's default). `#[sync(keep_cursors)]`.
    pub fn keep_cursors_on_new_columns(mut self) -> Self {
        self.keep_cursors = true;
        self
    }

    /// Whether [`keep_cursors_on_new_columns`](Self::keep_cursors_on_new_columns) was asked for.
    pub fn keeps_cursors_on_new_columns(&self) -> bool {
        self.keep_cursors
    }

    /// The same columns and table name, whatever the declarations (defaults, former names):
    /// a table stored with one is stored as the other.
    pub fn same_shape(&self, other: &TableSchema) -> bool {
        self.name() == other.name()
            && self.columns().len() == other.columns().len()
            && self.columns().iter().zip(other.columns()).all(|(a, b)| same_column(a, b))
    }
}

fn same_column(a: &Column, b: &Column) -> bool {
    a.name == b.name && a.ty == b.ty && a.nullable == b.nullable
}

/// Checks a column's declarations and puts its default in canonical form.
pub(crate) fn check_declarations(c: &mut Column) -> Result<(), SchemaError> {
    let bad = |message: String| SchemaError::Declaration { column: c.name.clone(), message };
    if let Some(old) = &c.renamed_from {
        crate::schema::validate_name(old)?;
        if system::ALL.contains(&old.as_str()) {
            return Err(bad(format!("cannot be renamed from the system column {old:?}")));
        }
        if *old == c.name {
            return Err(bad("a column cannot be renamed from its own name".into()));
        }
    }
    if let Some(default) = c.default.take() {
        if default.is_null() {
            return Err(bad("a default cannot be null".into()));
        }
        let canonical = conform_value(&c.name, c.ty, default, true)
            .map_err(|e| bad(format!("the default does not fit the column: {e}")))?;
        c.default = Some(canonical);
    }
    Ok(())
}

/// No former name is another column's name or claimed twice.
pub(crate) fn check_renames(columns: &[Column]) -> Result<(), SchemaError> {
    for c in columns {
        let Some(old) = &c.renamed_from else { continue };
        if columns.iter().any(|o| o.name.eq_ignore_ascii_case(old)) {
            return Err(SchemaError::Declaration {
                column: c.name.clone(),
                message: format!("renamed from {old:?}, which is still a column of the table"),
            });
        }
        if columns.iter().filter(|o| o.renamed_from.as_deref() == Some(old.as_str())).count() > 1 {
            return Err(SchemaError::Declaration {
                column: c.name.clone(),
                message: format!("{old:?} is the former name of two columns"),
            });
        }
    }
    Ok(())
}

/// What opening a table stored with one schema under another changes: made by
/// [`SchemaUpgrade::plan`], applied by the store in one transaction (its own storage first, then
/// [`upgrade_system_rows`] for the queue and errors).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SchemaUpgrade {
    /// The stored table's name, when the schema renames it (`renamed_from`).
    pub renamed_table: Option<String>,
    /// Columns that take a new name, `(old, new)`; their values move with them.
    pub renamed_columns: Vec<(String, String)>,
    /// Columns new to the store. Stored rows get the column's default, or null.
    pub added: Vec<Column>,
    /// Retained columns the schema has again: their values come back; rows with none (written
    /// while the column was retained) get the default.
    pub revived: Vec<Column>,
    /// Stored columns that become non-null: rows with none get the default.
    pub filled: Vec<Column>,
    /// Columns whose stored values convert: the column (new type) and the stored type.
    pub converted: Vec<(Column, ColumnType)>,
    /// The columns retained after the upgrade (those retained before and not revived, and the
    /// stored columns the schema no longer has).
    pub retained: Vec<Column>,
    /// The stored columns that become retained by this upgrade.
    pub newly_retained: Vec<Column>,
    /// Whether the table's pull cursors are forgotten.
    pub reset_cursors: bool,
}

impl SchemaUpgrade {
    /// Plans opening `stored` (with the `retained` columns it keeps) as `wanted`; `stored` is the
    /// table stored under `wanted`'s name, or under its former name when it is renamed. A change
    /// no declaration covers is [`StoreError::IncompatibleSchema`], whose message names the
    /// column and the attribute (or migration step) that would allow it.
    pub fn plan(stored: &TableSchema, retained: &[Column], wanted: &TableSchema) -> Result<Self, StoreError> {
        let table = wanted.name();
        let incompatible = |message: String| StoreError::IncompatibleSchema { table: table.to_owned(), message };
        let mut plan = SchemaUpgrade {
            renamed_table: (stored.name() != table).then(|| stored.name().to_owned()),
            renamed_columns: Vec::new(),
            added: Vec::new(),
            revived: Vec::new(),
            filled: Vec::new(),
            converted: Vec::new(),
            retained: Vec::new(),
            newly_retained: Vec::new(),
            reset_cursors: false,
        };
        // Renames first, so a new column may take a renamed column's old name.
        let mut taken: Vec<&str> = Vec::new();
        let mut sources: Vec<(&Column, Option<(&Column, bool)>)> = Vec::new();
        for c in wanted.user_columns() {
            let own = stored.column(&c.name).map(|s| (s, false));
            let old = c.renamed_from.as_deref();
            let renamed = own.is_none().then_some(old).flatten().and_then(|old| {
                let live = stored.column(old).filter(|s| !system::ALL.contains(&s.name.as_str()));
                live.map(|s| (s, false)).or_else(|| retained.iter().find(|r| r.name == old).map(|r| (r, true)))
            });
            if let Some((s, _)) = renamed {
                plan.renamed_columns.push((s.name.clone(), c.name.clone()));
                taken.push(s.name.as_str());
            }
            sources.push((c, own.or(renamed)));
        }
        for (c, source) in &mut sources {
            if source.is_none() {
                *source =
                    retained.iter().find(|r| r.name == c.name && !taken.contains(&r.name.as_str())).map(|r| (r, true));
            }
        }
        for (c, source) in sources {
            let Some((s, was_retained)) = source else {
                if !c.nullable && c.default.is_none() {
                    return Err(incompatible(format!(
                        "new column {:?} is non-null but the stored rows have no value for it; give it a \
                         default (#[sync(default = …)] on the field, Column::with_default), or make it an Option",
                        c.name
                    )));
                }
                plan.added.push(c.clone());
                continue;
            };
            taken.push(s.name.as_str());
            if s.ty != c.ty {
                if !c.convert {
                    return Err(incompatible(format!(
                        "column {:?} changes type from {} to {}; declare the conversion with #[sync(convert)] \
                         on the field (Column::converted), or register a migration step \
                         (SyncContextBuilder::migration) that rewrites the column",
                        c.name,
                        s.ty.name(),
                        c.ty.name()
                    )));
                }
                plan.converted.push((c.clone(), s.ty));
            }
            let needs_values = !c.nullable && (was_retained || s.nullable);
            if needs_values && c.default.is_none() {
                let why = if was_retained {
                    "comes back after versions without it, and rows written meanwhile have no value for it"
                } else {
                    "becomes non-null, and stored rows may have no value for it"
                };
                return Err(incompatible(format!(
                    "column {:?} {why}; give it a default (#[sync(default = …)] on the field, \
                     Column::with_default), or keep it an Option",
                    c.name
                )));
            }
            if was_retained {
                plan.revived.push(c.clone());
            } else if s.nullable && !c.nullable {
                plan.filled.push(c.clone());
            }
        }
        for s in stored.user_columns().filter(|s| !taken.contains(&s.name.as_str())) {
            plan.newly_retained.push(s.clone());
        }
        plan.retained = retained.iter().filter(|r| !taken.contains(&r.name.as_str())).cloned().collect();
        plan.retained.extend(plan.newly_retained.iter().cloned());
        let grows = !plan.added.is_empty() || !plan.revived.is_empty();
        plan.reset_cursors = grows && !wanted.keep_cursors;
        Ok(plan)
    }

    /// Whether the upgrade changes nothing stored (only declarations differ).
    pub fn is_empty(&self) -> bool {
        self.renamed_table.is_none()
            && self.renamed_columns.is_empty()
            && self.added.is_empty()
            && self.revived.is_empty()
            && self.filled.is_empty()
            && self.converted.is_empty()
            && self.newly_retained.is_empty()
    }

    /// A record of the stored table (a queued operation's snapshot, an error's item) in the new
    /// schema's shape: renamed columns under their new names, converted values (a value that does
    /// not convert stays as it was), new columns with their default or null, retained columns
    /// left out (their values stay in the store's row).
    pub fn upgrade_record(&self, record: Record) -> Result<Record, crate::error::RecordError> {
        let mut map = record.into_map();
        for (old, new) in &self.renamed_columns {
            if let Some(v) = map.remove(old) {
                map.insert(new.clone(), v);
            }
        }
        for (col, from) in &self.converted {
            if let Some(v) = map.get_mut(&col.name) {
                if let Some(converted) = convert_value(*from, col.ty, v.clone()) {
                    *v = converted;
                }
            }
        }
        for col in &self.added {
            map.entry(col.name.clone()).or_insert_with(|| col.default.clone().unwrap_or(Value::Null));
        }
        for col in self.revived.iter().chain(&self.filled) {
            let slot = map.entry(col.name.clone()).or_insert(Value::Null);
            if slot.is_null() {
                *slot = col.default.clone().unwrap_or(Value::Null);
            }
        }
        for col in &self.retained {
            map.remove(&col.name);
        }
        Record::new(map)
    }
}

#[cfg(test)]
mod tests;
