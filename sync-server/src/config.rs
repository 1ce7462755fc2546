//! The `--config FILE` format (TOML): tables with fixed columns and types, soft delete, page size
//! and maxTop, and the server's limits.
//!
//! ```toml
//! max_body_bytes = 1048576        # default 1 MiB
//! page_size = 50                  # defaults for every table
//! max_top = 1000
//!
//! [tables.TodoItem]
//! columns = { text = "string", complete = "boolean" }
//!
//! [tables.Reading]
//! soft_delete = false             # DELETE removes the row
//! page_size = 100
//! max_top = 5000
//! columns = { value = "number", at = "date", note = { type = "string", nullable = false } }
//!
//! [tables.Notes]
//! dynamic_schema = true           # columns are added by writes (like `--table Notes`)
//! per_user = true                 # each user sees only their rows (needs [auth])
//!
//! [auth]                          # every request needs a JWT (X-ZUMO-AUTH or Authorization: Bearer)
//! jwks_file = "keys.json"         # RS256 public keys; or hs256_secret = "…"
//! issuer = "https://login.example.org/"   # optional
//! audience = "my-app"                     # optional
//! ```
//!
//! Column types: `string`, `boolean`, `integer`, `number` (a 64-bit float), `date` (a UTC instant,
//! stored and sent as `YYYY-MM-DDTHH:MM:SS.sssZ`) and `json` (any JSON value). Columns are
//! nullable unless `nullable = false`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use sync_core::{Column, ColumnType, TableSchema};

use crate::error::ServerError;
use crate::table::{TableDef, TableOptions, DEFAULT_MAX_TOP, DEFAULT_PAGE_SIZE};

/// The default limit on request bodies: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// A parsed configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The largest request body accepted, in bytes (default 1 MiB); larger is a 413.
    pub max_body_bytes: Option<usize>,
    /// The default page size of the tables.
    pub page_size: Option<u64>,
    /// The default maxTop of the tables.
    pub max_top: Option<u64>,
    /// Authentication (`[auth]`).
    pub auth: Option<AuthConfig>,
    /// The tables, by name.
    #[serde(default)]
    pub tables: BTreeMap<String, TableConfig>,
}

/// The `[auth]` section: JWTs checked with an HS256 secret or an RS256 JWKS file (one of them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The HS256 secret (better kept out of files: `--auth-secret-env VAR`).
    pub hs256_secret: Option<String>,
    /// A JWKS file (`{"keys": [...]}`) with the RS256 public keys, relative to the working folder.
    pub jwks_file: Option<std::path::PathBuf>,
    /// The `iss` tokens must have.
    pub issuer: Option<String>,
    /// The `aud` tokens must have.
    pub audience: Option<String>,
}

impl AuthConfig {
    /// The checker this section describes.
    pub fn build(&self) -> Result<crate::Auth, ServerError> {
        let auth = match (&self.hs256_secret, &self.jwks_file) {
            (Some(secret), None) => crate::Auth::hs256(secret),
            (None, Some(file)) => crate::Auth::rs256_jwks_file(file)?,
            _ => return Err(ServerError::Config("[auth] needs exactly one of hs256_secret and jwks_file".to_owned())),
        };
        Ok(auth.configured(self.issuer.as_deref(), self.audience.as_deref()))
    }
}

/// One `[tables.NAME]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Soft delete (default on).
    pub soft_delete: Option<bool>,
    /// Columns are added by the writes that first bring them (default off: a table without
    /// `columns` and without this has only the system columns).
    #[serde(default)]
    pub dynamic_schema: bool,
    /// Page size of this table.
    pub page_size: Option<u64>,
    /// maxTop of this table.
    pub max_top: Option<u64>,
    /// Rows belong to the token's user (see [`TableOptions::per_user`]).
    #[serde(default)]
    pub per_user: bool,
    /// The user columns, by name.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnConfig>,
}

/// A column: its type name, or `{ type = "…", nullable = false }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ColumnConfig {
    /// Just the type name (nullable).
    Type(String),
    /// The type and whether it may be null.
    Full {
        /// The type name.
        #[serde(rename = "type")]
        ty: String,
        /// Whether it may be null (default true).
        #[serde(default = "yes")]
        nullable: bool,
    },
}

fn yes() -> bool {
    true
}

/// Parses a column type name of the configuration file.
pub fn parse_column_type(name: &str) -> Option<ColumnType> {
    Some(match name {
        "string" | "text" => ColumnType::String,
        "boolean" | "bool" => ColumnType::Bool,
        "integer" | "int" => ColumnType::Integer,
        "number" | "real" | "float" => ColumnType::Real,
        "date" | "datetime" => ColumnType::DateTime,
        "json" => ColumnType::Json,
        _ => return None,
    })
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, ServerError> {
        toml::from_str(text).map_err(|e| ServerError::Config(e.to_string()))
    }

    /// Reads and parses a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ServerError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }

    /// The default options of tables not configured otherwise.
    pub fn defaults(&self) -> TableOptions {
        TableOptions {
            soft_delete: true,
            page_size: self.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            max_top: self.max_top.unwrap_or(DEFAULT_MAX_TOP),
            per_user: false,
        }
    }

    pub(crate) fn tables(&self) -> Result<Vec<TableDef>, ServerError> {
        let defaults = self.defaults();
        let mut out = Vec::new();
        for (name, t) in &self.tables {
            let options = TableOptions {
                soft_delete: t.soft_delete.unwrap_or(defaults.soft_delete),
                page_size: t.page_size.unwrap_or(defaults.page_size),
                max_top: t.max_top.unwrap_or(defaults.max_top),
                per_user: t.per_user,
            };
            if t.dynamic_schema {
                if !t.columns.is_empty() {
                    return Err(ServerError::Config(format!(
                        "table {name}: dynamic_schema tables take their columns from writes; remove `columns`"
                    )));
                }
                out.push(TableDef::dynamic(name, options)?);
                continue;
            }
            let mut columns = Vec::new();
            for (col, c) in &t.columns {
                let (ty, nullable) = match c {
                    ColumnConfig::Type(ty) => (ty.as_str(), true),
                    ColumnConfig::Full { ty, nullable } => (ty.as_str(), *nullable),
                };
                let ty = parse_column_type(ty).ok_or_else(|| {
                    ServerError::Config(format!(
                        "table {name}, column {col}: unknown type {ty:?} (string, boolean, integer, number, date, json)"
                    ))
                })?;
                if sync_core::backend::system::ALL.contains(&col.as_str()) {
                    return Err(ServerError::Config(format!("table {name}: {col} is a system column")));
                }
                columns.push(if nullable { Column::nullable(col, ty) } else { Column::new(col, ty) });
            }
            let schema =
                TableSchema::new(name, columns).map_err(|e| ServerError::Config(format!("table {name}: {e}")))?;
            out.push(TableDef::fixed(&schema, options)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
            max_body_bytes = 1000
            page_size = 20
            [tables.TodoItem]
            columns = { text = "string", complete = "boolean" }
            [tables.Reading]
            soft_delete = false
            page_size = 100
            max_top = 5000
            columns = { value = "number", at = "date", note = { type = "string", nullable = false } }
            [tables.Notes]
            dynamic_schema = true
        "#;
        let config = Config::from_toml(text).unwrap();
        assert_eq!(config.max_body_bytes, Some(1000));
        let tables = config.tables().unwrap();
        assert_eq!(tables.len(), 3);
        let reading = tables.iter().find(|t| t.name == "Reading").unwrap();
        assert!(!reading.options.soft_delete);
        assert_eq!(reading.options.max_top, 5000);
        assert!(reading.columns.iter().any(|c| c.name == "note" && !c.nullable));
        let todo = tables.iter().find(|t| t.name == "TodoItem").unwrap();
        assert_eq!(todo.options.page_size, 20);
        assert!(tables.iter().any(|t| t.name == "Notes" && t.dynamic));
    }

    #[test]
    fn rejects_bad_configs() {
        for bad in [
            "[tables.T]\ncolumns = { a = \"blob\" }",
            "[tables.T]\ncolumns = { id = \"string\" }",
            "[tables.__T]\n",
            "[tables.T]\npage_size = 2000",
            "[tables.T]\nunknown = 1",
            "[tables.T]\ndynamic_schema = true\ncolumns = { a = \"string\" }",
        ] {
            let result = Config::from_toml(bad).and_then(|c| c.tables());
            assert!(result.is_err(), "{bad}");
        }
    }
}
