//! `#[derive(SyncEntity)]` for sync-core: maps a struct to a synced table. Use it through
//! `sync_core::SyncEntity`, which re-exports it.
//!
//! ```
//! use sync_core::{Query, SyncEntity};
//!
//! #[derive(SyncEntity, Debug, Clone)]
//! #[sync(table = "TodoItem")]
//! struct TodoItem {
//!     id: String,
//!     text: String,
//!     #[sync(rename = "complete")]
//!     done: bool,
//! }
//!
//! assert_eq!(TodoItem::schema().name(), "TodoItem");
//! let open = Query::new().filter(TodoItem::DONE.eq(false)); // a typed column handle per field
//! # let _ = open;
//! ```
//!
//! The derive is a pipeline, one module per stage:
//! - `ast`: the struct's shape and its field types, parsed from the token stream;
//! - `attr`: the `#[sync(...)]` attributes;
//! - `valid`: the rules (one id, system field types, column names…), every violation reported at once;
//! - `expand`: the generated code, or a stub impl and the errors.

mod ast;
mod attr;
mod evolve;
mod expand;
mod valid;
mod value;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `sync_core::SyncEntity` for a struct with named fields, and adds a typed column handle
/// for each stored field (`TodoItem::TEXT`), for queries.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use sync_core::{Query, SyncEntity};
///
/// #[derive(SyncEntity, Debug, Clone, PartialEq)]
/// #[sync(table = "TodoItem")]
/// struct TodoItem {
///     id: String,
///     text: String,
///     complete: bool,
///     due: Option<DateTime<Utc>>,
///     #[sync(rename = "prio")]
///     priority: i32,
///     #[sync(skip)]
///     selected: bool,
///     #[sync(updated_at)]
///     updated_at: Option<DateTime<Utc>>,
///     #[sync(version)]
///     version: Option<String>,
///     #[sync(deleted)]
///     deleted: bool,
/// }
///
/// let q = Query::new().filter(TodoItem::COMPLETE.eq(false)).order_by(TodoItem::PRIORITY.desc());
/// assert_eq!(q.order_by[0].column, "prio");
/// assert_eq!(TodoItem::UPDATED_AT.name(), "updatedAt");
/// assert_eq!(TodoItem::schema().column("due").map(|c| c.nullable), Some(true));
/// ```
///
/// # Fields and columns
///
/// Every field is a column unless it is marked `#[sync(skip)]`. The column is named after the
/// field **exactly as written** (`due_date` stays `due_date`; nothing is camel-cased), or after
/// `#[sync(rename = "dueDate")]`. Names follow the table rules: ASCII letters, digits and `_`,
/// starting with a letter or `_`, at most 128 bytes, never starting with `__`. Two fields cannot map
/// to the same column; names are compared ignoring ASCII case, as SQLite and SQL Server do.
///
/// | field type | column | nullable |
/// |---|---|---|
/// | `String` | string | no |
/// | `bool` | boolean | no |
/// | `i8`, `i16`, `i32`, `i64`, `u8`, `u16`, `u32` | integer (64-bit) | no |
/// | `f32`, `f64` | real | no |
/// | `DateTime<Utc>` (chrono) | date-time | no |
/// | `serde_json::Value` | JSON | **yes**: `Value::Null` is a value |
/// | `uuid::Uuid` | string (hyphenated, lowercase) | no |
/// | your type implementing `SyncValue` (`#[derive(SyncValue)]` on a unit enum or a newtype) | as its impl says | as its impl says |
/// | any `Serialize + Deserialize` type, with `#[sync(json)]` on the field | JSON | no |
/// | `Option<T>`, `T` one of the above | as `T` | yes |
///
/// The types of the first rows are recognised by name, as written: `chrono::DateTime<chrono::Utc>`
/// and `Value` both work, a type alias does not, and a name that turns out to be another type
/// (your own `Value`) is a type mismatch reported on the field. `chrono` and `serde_json` are the
/// versions sync-core uses. Any other type is used through its `sync_core::SyncValue` impl
/// (`uuid::Uuid` has one; derive one with `#[derive(SyncValue)]`), and a type without one is an
/// error on the field naming the trait. A few types are refused by name with a hint, since no
/// impl of yours could serve them: `u64`, `usize`, `i128`, `char`, `&str`, `Box<T>`, collections
/// (`Vec<T>`, maps, sets), tuples, arrays, and date-times other than `DateTime<Utc>`. Store those
/// with `#[sync(json)]`, or mark the field `#[sync(skip)]`.
///
/// A `#[sync(json)]` field is written with serde and read back with serde: a JSON column, nullable
/// when the field is an `Option` (`None` is `null`). A field whose value serialises as `null` must
/// be an `Option`.
///
/// Values of your types and of `#[sync(json)]` fields are checked by their types whenever a record
/// is conformed to the schema: a pulled server row that your type refuses (an enum name this
/// version does not know, JSON of another shape) is rejected alone, and the rest of its page is
/// stored.
///
/// # The id
///
/// Exactly one field holds the id: the field named `id`, or the field marked `#[sync(id)]`. It
/// must be a `String` and its column is always `id`. It may be empty until the item is inserted:
/// the engine then gives it a new UUID (`to_record` fails on an empty or otherwise invalid id).
///
/// # System fields
///
/// The server owns four columns. A struct may hold any of them in a field marked with the role's
/// attribute; the column name is fixed, so such fields cannot be renamed:
///
/// | attribute | column | field type |
/// |---|---|---|
/// | `#[sync(created_at)]` | `createdAt` | `Option<DateTime<Utc>>` (`None` until the first sync) |
/// | `#[sync(updated_at)]` | `updatedAt` | `Option<DateTime<Utc>>` (`None` until the first sync) |
/// | `#[sync(version)]` | `version` | `Option<String>` (`None` until the first sync) |
/// | `#[sync(deleted)]` | `deleted` | `bool` (an absent or null `deleted` reads as `false`) |
///
/// A field that would map to a system column without its attribute (a plain `version: String`,
/// or `created_at` without `#[sync(created_at)]`) is an error, since it is almost always a
/// forgotten attribute. To keep a column of your own called `created_at`, say so with
/// `#[sync(rename = "created_at")]`.
///
/// # Attributes
///
/// On the struct:
/// - `#[sync(table = "TodoItem")]`: the table name (default: the struct's name);
/// - `#[sync(renamed_from = "OldName")]`: the table's former name; a store holding the old table
///   renames it on open, with its rows, queued operations, errors and pull cursors;
/// - `#[sync(keep_cursors)]`: adding columns keeps the pull cursors (by default they are
///   forgotten, so the next pull brings the server's values of the new columns for the rows
///   already stored).
///
/// On a field:
/// - `#[sync(id)]`: this field is the id (needed only when it is not named `id`);
/// - `#[sync(created_at)]`, `#[sync(updated_at)]`, `#[sync(version)]`, `#[sync(deleted)]`: a system
///   field (see above);
/// - `#[sync(rename = "name")]`: the column name;
/// - `#[sync(skip)]`: not stored; `from_record` sets it to `Default::default()`, so its type
///   must implement `Default`;
/// - `#[sync(default = <expr>)]`, or `#[sync(default)]` for the type's `Default`: the value stored
///   rows get when the column is added (a new non-`Option` field needs one), and server rows
///   without a value get when pulled. An `Option` field takes `default = Some(…)`;
/// - `#[sync(renamed_from = "old")]`: the column's former name; stored values, queued operations
///   and errors move to the new name on open;
/// - `#[sync(convert)]`: the field's type changed; stored values of the old type are converted on
///   open (`sync_core::backend::convert_value`), and one that does not convert is an error naming
///   the row;
/// - `#[sync(json)]`: the field is stored as JSON, by serde (any `Serialize + Deserialize` type).
///
/// The id and the system fields take none of the last four: their columns are fixed. How a store
/// applies them is in the repository's `docs/architecture.md`, "Schema evolution".
///
/// Several keys can share one attribute, separated by commas, or be spread over several
/// attributes; a key appears at most once per field. A field has at most one role (id or system
/// field), such fields take no `rename`, and `skip` goes with no other key.
///
/// # Column handles
///
/// For every stored field, system fields and the id included, an associated constant named as the
/// field in `SCREAMING_SNAKE_CASE` holds a [`Col<T>`] for queries, where `T` is the field's type
/// without `Option`. A field named `table` gets a handle `TABLE`, which
/// then hides the trait's `TABLE` constant in `TodoItem::TABLE` paths; write
/// `<TodoItem as SyncEntity>::TABLE` for the table name.
///
/// # Records
///
/// `to_record` writes every column, `null` for `None`, each value by its type's `SyncValue` impl
/// (serde's form for the known types); date-times are written by chrono's serde
/// (RFC 3339, full precision; stores keep milliseconds). `from_record` reads every column: an absent
/// or `null` value is `None` for an `Option`, `Value::Null` for a `serde_json::Value`, `false` for
/// the `#[sync(deleted)]` field, and an error ([`RecordError::NullValue`]) otherwise; a value of the
/// wrong type is an error too ([`RecordError::Field`]), never a panic. Columns the struct does not
/// map are ignored. `f32`/`f64` NaN and infinities are written as `null`, which a store rejects for
/// a non-`Option` column.
///
/// [`Col<T>`]: https://docs.rs/sync-core/latest/sync_core/struct.Col.html
/// [`RecordError::NullValue`]: https://docs.rs/sync-core/latest/sync_core/error/enum.RecordError.html#variant.NullValue
/// [`RecordError::Field`]: https://docs.rs/sync-core/latest/sync_core/error/enum.RecordError.html#variant.Field
///
/// # Errors
///
/// Misuse is a compile error pointing at the field, the type or the attribute at fault, all of
/// them at once: a missing or second id, a system field of the wrong type, a bad or duplicate
/// column name, an unsupported field type, a generic struct, a tuple struct or an enum, an
/// unknown `#[sync(...)]` key. A field type with no `SyncValue` impl is one error on the type
/// (from the compiler, as the trait asks): it names the trait and suggests `#[derive(SyncValue)]`,
/// `#[sync(json)]` and `#[sync(skip)]`.
///
/// # What it expands to
///
/// For the struct below the derive writes the code that follows it (modulo full paths): the trait
/// impl and the handles, inside a `const _: () = { ... };` block, using only
/// `::sync_core::__private` (a hidden module, not a public API).
///
/// ```
/// # use chrono::{DateTime, Utc};
/// # use sync_core::SyncEntity;
/// // #[derive(SyncEntity)]
/// // #[sync(table = "TodoItem")]
/// struct TodoItem {
///     id: String,
///     text: String,
///     // #[sync(updated_at)]
///     updated_at: Option<DateTime<Utc>>,
/// }
///
/// const _: () = {
///     use ::sync_core::__private as p;
///
///     #[automatically_derived]
///     impl p::SyncEntity for TodoItem {
///         const TABLE: &'static str = "TodoItem";
///
///         fn schema() -> p::TableSchema {
///             // (former table name, keep_cursors): see "Attributes"
///             p::evolving_schema(<Self as p::SyncEntity>::TABLE, vec![p::Column::new("text", p::ColumnType::String)], None, false)
///         }
///
///         fn to_record(&self) -> Result<p::Record, p::RecordError> {
///             let mut record = p::record_with_id(&self.id)?;
///             let value: &String = &self.text;
///             record.set("text", p::written("text", <String as p::SyncValue>::to_json(value))?)?;
///             let value: &Option<p::chrono::DateTime<p::chrono::Utc>> = &self.updated_at;
///             record.set(
///                 "updatedAt",
///                 p::written("updatedAt", <Option<p::chrono::DateTime<p::chrono::Utc>> as p::SyncValue>::to_json(value))?,
///             )?;
///             Ok(record)
///         }
///
///         fn from_record(record: &p::Record) -> Result<Self, p::RecordError> {
///             Ok(TodoItem {
///                 id: String::from(record.id()),
///                 text: p::read(record, "text", p::SyncValue::from_json)?,
///                 updated_at: p::read(record, "updatedAt", p::SyncValue::from_json)?,
///             })
///         }
///
///         fn id(&self) -> &str {
///             &self.id
///         }
///
///         fn set_id(&mut self, id: String) {
///             self.id = id;
///         }
///     }
///
///     #[allow(dead_code)]
///     impl TodoItem {
///         /// Column `id` of table `TodoItem` (string).
///         pub const ID: p::Col<String> = p::Col::new("id");
///         /// Column `text` of table `TodoItem` (string).
///         pub const TEXT: p::Col<String> = p::Col::new("text");
///         /// Column `updatedAt` of table `TodoItem` (date-time, nullable).
///         pub const UPDATED_AT: p::Col<p::chrono::DateTime<p::chrono::Utc>> = p::Col::new("updatedAt");
///     }
/// };
/// # assert_eq!(TodoItem::schema().column("text").map(|c| c.nullable), Some(false));
/// ```
///
/// System columns are left out of the `evolving_schema` call: [`TableSchema::new`] adds all five with their
/// fixed types. A `#[sync(deleted)]` field is read as `Option<bool>` and defaults to `false`.
///
/// A field of a type the derive does not know (`priority: Priority`) names the type's impl instead:
/// its column is `p::column("priority", <Priority as p::SyncValue>::COLUMN_TYPE, <Priority as
/// p::SyncValue>::NULLABLE)`, and the schema is wrapped in `p::with_value_checks(schema,
/// &[("priority", check)])`, where `check` reads a value with `<Priority as p::SyncValue>::from_json`.
/// A `#[sync(json)]` field uses `p::serde_to_json` and `p::serde_from_json` in the same places.
///
/// [`TableSchema::new`]: https://docs.rs/sync-core/latest/sync_core/struct.TableSchema.html#method.new
#[proc_macro_derive(SyncEntity, attributes(sync))]
pub fn derive_sync_entity(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Derives `sync_core::SyncValue`: a type of yours as a column type, for fields of a
/// `#[derive(SyncEntity)]` struct. Use it through `sync_core::SyncValue`, which re-exports it.
///
/// - A **unit-only enum** is a string column holding the variant's name, or its
///   `#[sync(rename = "...")]`, or the name in the style of `#[sync(rename_all = "...")]` on the
///   enum (`lowercase`, `UPPERCASE`, `PascalCase`, `camelCase`, `snake_case`,
///   `SCREAMING_SNAKE_CASE`, `kebab-case`, `SCREAMING-KEBAB-CASE`, as serde spells them). A value
///   that is none of the names (a variant a newer version added) is an error naming the column:
///   a pulled row holding one is rejected alone, and the rest of its page is stored.
/// - A **newtype** (a struct with one field, `struct Cents(i64);` or `struct Cents { value: i64 }`)
///   is stored as its field's type, which must implement `SyncValue`.
/// - Any type marked **`#[sync(json)]`** that implements serde's `Serialize` and `Deserialize` is
///   a JSON column (stored as JSON text; only `is_null` can be queried).
///
/// For the enum and the newtype it also writes `From<YourType> for QueryValue`, so a field's column
/// handle compares with your values.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use sync_core::{ColumnType, Query, SyncEntity, SyncValue};
///
/// #[derive(SyncValue, Debug, Clone, Copy, PartialEq)]
/// #[sync(rename_all = "snake_case")]
/// enum Status {
///     Open,
///     InProgress,
///     #[sync(rename = "done")]
///     Closed,
/// }
///
/// #[derive(SyncValue, Debug, Clone, Copy, PartialEq, PartialOrd)]
/// struct Cents(i64);
///
/// #[derive(SyncValue, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// #[sync(json)]
/// struct Address {
///     street: String,
///     city: String,
/// }
///
/// #[derive(SyncEntity, Debug, Clone, PartialEq)]
/// struct Order {
///     id: String,
///     status: Status,
///     total: Cents,
///     ship_to: Option<Address>,
/// }
///
/// assert_eq!(<Status as SyncValue>::COLUMN_TYPE, ColumnType::String);
/// assert_eq!(Status::InProgress.to_json()?, serde_json::json!("in_progress"));
/// assert_eq!(Status::from_json(&serde_json::json!("done"))?, Status::Closed);
/// let unknown = Status::from_json(&serde_json::json!("lost")).unwrap_err();
/// assert_eq!(unknown.to_string(), r#"expected one of "open", "in_progress", "done", found the string "lost""#);
/// assert_eq!(Order::schema().column("total").map(|c| c.ty), Some(ColumnType::Integer));
/// assert_eq!(Order::schema().column("ship_to").map(|c| (c.ty, c.nullable)), Some((ColumnType::Json, true)));
/// let open = Query::new().filter(Order::STATUS.ne(Status::Closed) & Order::TOTAL.ge(Cents(1000)));
/// # let _ = open;
/// # Ok::<_, sync_core::ValueError>(())
/// ```
///
/// Misuse is a compile error on the item at fault: an enum variant with fields (store such an
/// enum with `#[sync(json)]`), two variants stored under one name, a generic or empty enum, a
/// struct with no field or several (a struct of several fields is `#[sync(json)]`), an unknown
/// `rename_all` style or `#[sync]` key.
///
/// It expands to `impl SyncValue for Status` (and the `From`) in a `const _: () = { ... };`
/// block, naming only `::sync_core::__private` paths, like `#[derive(SyncEntity)]`.
#[proc_macro_derive(SyncValue, attributes(sync))]
pub fn derive_sync_value(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    value::derive(&input).into()
}

/// Errors collected across the pipeline, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds an error spanning `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Adds an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The combined error, if any.
    pub(crate) fn finish(self) -> Option<syn::Error> {
        self.0
    }
}
