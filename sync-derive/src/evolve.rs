//! Validate, continued: the schema-evolution keys (`default`, `renamed_from`, `convert` on a
//! field; `renamed_from`, `keep_cursors` on the struct). Kept apart from `valid` so each file has
//! one job.

use syn::Expr;

use crate::ast::{self, FieldType};
use crate::attr::Role;
use crate::valid::{check_name, Column, Diagnostics};

/// A stored field's evolution keys, checked.
pub(crate) struct Declarations {
    /// `Some(None)`: the type's `Default`; `Some(Some(expr))`: the expression.
    pub default: Option<Option<Expr>>,
    /// The former column name.
    pub renamed_from: Option<String>,
    /// `convert`.
    pub convert: bool,
}

/// The evolution keys of a stored field; reports the ones that cannot apply.
pub(crate) fn field_declarations(
    field: &ast::Field,
    role: Option<Role>,
    kind: FieldType,
    column: &str,
    at: usize,
    diag: &mut Diagnostics,
) -> Declarations {
    let attrs = &field.attrs;
    let mut out = Declarations { default: None, renamed_from: None, convert: attrs.convert.is_some() };
    if let Some(role) = role {
        let what = if role == Role::Id { "the id".to_owned() } else { format!("a #[sync({})] field", role.key()) };
        let message =
            |key: &str| format!("`{key}` does not apply to {what}: its column and type are fixed by the protocol");
        if let Some(default) = &attrs.default {
            diag.at(at, &default.key, message("default"));
        }
        if let Some(lit) = &attrs.renamed_from {
            diag.at(at, lit, message("renamed_from"));
        }
        if let Some(path) = &attrs.convert {
            diag.at(at, path, message("convert"));
        }
        out.convert = false;
        return out;
    }
    if let Some(default) = &attrs.default {
        if default.value.is_none() && kind.scalar == crate::ast::Scalar::Json {
            diag.at(
                at,
                &default.key,
                "the `Default` of a `serde_json::Value` is null, which is no default: write #[sync(default = json!(…))]",
            );
        } else if default.value.is_none() && kind.optional {
            diag.at(
                at,
                &default.key,
                "an `Option` field has no value by default: write #[sync(default = Some(…))] to give stored rows one",
            );
        } else {
            out.default = Some(default.value.clone());
        }
    }
    if let Some(lit) = &attrs.renamed_from {
        let old = lit.value();
        match check_name(&old) {
            Err(reason) => diag.at(at, lit, format!("invalid former column name {old:?}: {reason}")),
            Ok(()) if old == column => {
                diag.at(at, lit, format!("the column is already called {old:?}: remove `renamed_from`"))
            }
            Ok(()) if Role::ALL.iter().any(|r| r.column().eq_ignore_ascii_case(&old)) => {
                diag.at(at, lit, format!("{old:?} is a system column; a column cannot be renamed from it"))
            }
            Ok(()) => out.renamed_from = Some(old),
        }
    }
    out
}

/// A skipped field is not stored, so it has no column to evolve.
pub(crate) fn skipped_field(field: &ast::Field, at: usize, diag: &mut Diagnostics) {
    let attrs = &field.attrs;
    if let Some(default) = &attrs.default {
        diag.at(at, &default.key, "`default` cannot be combined with `skip`: a skipped field is not stored (it is always `Default::default()`)");
    }
    if let Some(lit) = &attrs.renamed_from {
        diag.at(at, lit, "`renamed_from` cannot be combined with `skip`: a skipped field is not stored");
    }
    if let Some(path) = &attrs.convert {
        diag.at(at, path, "`convert` cannot be combined with `skip`: a skipped field is not stored");
    }
}

/// No former column name is the name of a column of the struct, or claimed by two fields.
pub(crate) fn check_former_names(input: &ast::Input, columns: &[Column], diag: &mut Diagnostics) {
    for (i, c) in columns.iter().enumerate() {
        let Some(old) = &c.renamed_from else { continue };
        let Some(lit) = input.fields.iter().find(|f| f.ident == c.field).and_then(|f| f.attrs.renamed_from.as_ref())
        else {
            continue;
        };
        let at = input.fields.iter().position(|f| f.ident == c.field).map_or(0, |p| p + 1);
        if let Some(other) = columns.iter().find(|o| o.name.eq_ignore_ascii_case(old)) {
            diag.at(
                at,
                lit,
                format!(
                    "{old:?} is the column of field `{}`: a former name must not be a column the struct still has",
                    other.field
                ),
            );
        } else if let Some(other) = columns[..i].iter().find(|o| o.renamed_from.as_deref() == Some(old.as_str())) {
            diag.at(at, lit, format!("field `{}` is already renamed from {old:?}", other.field));
        }
    }
}

/// The table's former name, checked.
pub(crate) fn table_renamed_from(input: &ast::Input, table: &str, diag: &mut Diagnostics) -> Option<String> {
    let lit = input.attrs.renamed_from.as_ref()?;
    let old = lit.value();
    match check_name(&old) {
        Err(reason) => diag.at(0, lit, format!("invalid former table name {old:?}: {reason}")),
        Ok(()) if old == table => {
            diag.at(0, lit, format!("the table is already called {old:?}: remove `renamed_from`"))
        }
        Ok(()) => return Some(old),
    }
    None
}
