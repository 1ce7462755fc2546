//! Validate: the rules a derivable struct follows, checked all at once. The result is the model
//! `expand` writes code from; it is complete only when no error was reported.

use proc_macro2::Span;
use syn::{Ident, Type};

use crate::ast::{self, display_type, FieldType, Scalar};
use crate::attr::Role;
use crate::Errors;

/// The checked entity.
pub(crate) struct Entity<'a> {
    /// The struct's name.
    pub ident: &'a Ident,
    /// The table name.
    pub table: String,
    /// The id field.
    pub id: Option<&'a Ident>,
    /// The stored fields (the id and system fields included), in order. Fields with errors are
    /// left out.
    pub columns: Vec<Column<'a>>,
    /// `#[sync(skip)]` fields.
    pub skipped: Vec<&'a Ident>,
    /// The table's former name (`renamed_from` on the struct).
    pub renamed_from: Option<String>,
    /// `keep_cursors` on the struct.
    pub keep_cursors: bool,
}

/// A stored field.
pub(crate) struct Column<'a> {
    /// The field.
    pub field: &'a Ident,
    /// Its type as written (for spans).
    pub ty: &'a Type,
    /// What it holds.
    pub kind: FieldType,
    /// The column name.
    pub name: String,
    /// The id or a system role.
    pub role: Option<Role>,
    /// The handle's name (`TEXT`).
    pub handle: Ident,
    /// `default` / `default = <expr>`: `Some(None)` for the type's `Default`.
    pub default: Option<Option<syn::Expr>>,
    /// The column's former name.
    pub renamed_from: Option<String>,
    /// `convert`.
    pub convert: bool,
}

const SUPPORTED: &str = "supported: `String`, `bool`, `i8`, `i16`, `i32`, `i64`, `u8`, `u16`, `u32`, `f32`, `f64`, \
                         `DateTime<Utc>` (chrono), `serde_json::Value`, any type implementing `sync_core::SyncValue` \
                         (`uuid::Uuid`, your enums and newtypes with #[derive(SyncValue)]), and `Option<T>` of these \
                         (a nullable column)\n\
                         or store it as JSON with #[sync(json)], or leave it out of the table with #[sync(skip)]";

/// Errors tagged with where they belong (0: the struct, `i + 1`: field `i`), reported in that order.
#[derive(Default)]
pub(crate) struct Diagnostics(Vec<(usize, syn::Error)>);

impl Diagnostics {
    pub(crate) fn at(&mut self, position: usize, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.0.push((position, syn::Error::new_spanned(tokens, message)));
    }

    fn into_errors(mut self, errors: &mut Errors) {
        self.0.sort_by_key(|(position, _)| *position);
        for (_, error) in self.0 {
            errors.push(error);
        }
    }
}

/// Checks the input, reporting every problem to `errors`.
pub(crate) fn check<'a>(input: &ast::Input<'a>, errors: &mut Errors) -> Entity<'a> {
    let mut diag = Diagnostics::default();
    if !input.generics.params.is_empty() {
        diag.at(
            0,
            input.generics,
            "#[derive(SyncEntity)] does not support generic structs: a table has one fixed set of column types",
        );
    }
    let generic_types: Vec<&Ident> = input.generics.type_params().map(|p| &p.ident).collect();
    let table = table_name(input, &mut diag);
    let renamed_table = crate::evolve::table_renamed_from(input, &table, &mut diag);
    let mut entity = Entity {
        ident: input.ident,
        table,
        id: None,
        columns: Vec::new(),
        skipped: Vec::new(),
        renamed_from: renamed_table,
        keep_cursors: input.attrs.keep_cursors.is_some(),
    };
    // Fields holding each role, in order and whatever their types, to report missing or repeated ones.
    let mut holders: Vec<Holder> = Vec::new();
    let mut skipped_id = None;

    for (index, field) in input.fields.iter().enumerate() {
        let at = index + 1;
        if let Some(error) = &field.attr_errors {
            diag.0.push((at, error.clone()));
        }
        let role = match role_of(field, at, &mut diag) {
            Stored::Skipped => {
                if field.name == "id" && field.attrs.rename.is_none() && field.attrs.roles.is_empty() {
                    skipped_id = field.attrs.skip.as_ref().map(|skip| (at, skip));
                }
                crate::evolve::skipped_field(field, at, &mut diag);
                entity.skipped.push(field.ident);
                continue;
            }
            Stored::As(role) => role,
        };
        if let Some(role) = role {
            let span = field.attrs.roles.first().map_or(field.ident.span(), |(_, path)| path_span(path));
            holders.push(Holder { role, field: field.ident, span, at });
        }
        let Some(kind) = kind_of(field, role, &generic_types, at, &mut diag) else { continue };
        let name = match role {
            Some(role) => role.column().to_owned(),
            None => match user_column(field, at, &mut diag) {
                Some(name) => name,
                None => continue,
            },
        };
        let Some(handle) = handle_ident(&field.name) else {
            let message = format!("cannot name a column handle after field `{}`: use an ASCII field name", field.name);
            diag.at(at, field.ident, message);
            continue;
        };
        let evolution = crate::evolve::field_declarations(field, role, kind, &name, at, &mut diag);
        let column = Column {
            field: field.ident,
            ty: field.ty,
            kind,
            name,
            role,
            handle,
            default: evolution.default,
            renamed_from: evolution.renamed_from,
            convert: evolution.convert,
        };
        if is_unique(&column, &entity.columns, field, at, &mut diag) {
            entity.columns.push(column);
        }
    }

    check_roles(input, &holders, skipped_id, &mut diag);
    crate::evolve::check_former_names(input, &entity.columns, &mut diag);
    entity.id = holders.iter().find(|h| h.role == Role::Id).map(|h| h.field);
    diag.into_errors(errors);
    entity
}

/// A field holding the id or a system role.
struct Holder<'a> {
    role: Role,
    field: &'a Ident,
    /// The role's attribute key, or the field name for an `id` field without attribute.
    span: Span,
    at: usize,
}

/// Whether a field is stored, and in which role.
enum Stored {
    Skipped,
    As(Option<Role>),
}

/// The field's role (the id, a system field or none) from its attributes and name, after reporting
/// attributes that do not go together.
fn role_of(field: &ast::Field, at: usize, diag: &mut Diagnostics) -> Stored {
    let attrs = &field.attrs;
    if let Some((_, path)) = attrs.roles.get(1) {
        let (first, _) = &attrs.roles[0];
        let message =
            format!("a field has one role: `{}` conflicts with `{}` on the same field", key(path), first.key());
        diag.at(at, path, message);
    }
    if let Some(skip) = &attrs.skip {
        if let Some(json) = &attrs.json {
            diag.at(at, json, "`json` cannot be combined with `skip`: a skipped field is not stored");
        }
        if let Some((_, path)) = attrs.roles.first() {
            let message = format!("`skip` cannot be combined with `{}`: a skipped field is not stored", key(path));
            diag.at(at, skip, message);
        } else if attrs.rename.is_some() {
            diag.at(at, skip, "`skip` cannot be combined with `rename`: a skipped field is not stored");
        }
        return Stored::Skipped;
    }
    let explicit = attrs.roles.first();
    let role = match explicit {
        Some((role, _)) => Some(*role),
        None if field.name == "id" => Some(Role::Id),
        None => None,
    };
    if let (Some(role), Some(rename)) = (role, &attrs.rename) {
        diag.at(at, rename, rename_fixed(role, explicit.is_none()));
    }
    Stored::As(role)
}

/// The field's type, if it is supported and, for the id and system fields, the one required.
fn kind_of(
    field: &ast::Field,
    role: Option<Role>,
    generic_types: &[&Ident],
    at: usize,
    diag: &mut Diagnostics,
) -> Option<FieldType> {
    if let Some(json) = &field.attrs.json {
        return json_kind(field, role, json, at, diag);
    }
    match (role, &field.kind) {
        (Some(role), Ok(kind)) if *kind == required(role) => Some(*kind),
        (Some(role), _) => {
            diag.at(at, field.ty, wrong_system_type(role, field.ty));
            None
        }
        (None, Ok(kind)) => Some(*kind),
        (None, Err(unsupported)) => {
            // A generic struct is reported once, on its generics.
            if !is_one_of(unsupported.ty, generic_types) {
                let hint = unsupported.hint.map(|h| format!(": {h}")).unwrap_or_default();
                let message = format!("unsupported field type `{}`{hint}\n{SUPPORTED}", display_type(unsupported.ty));
                diag.at(at, unsupported.ty, message);
            }
            None
        }
    }
}

/// A `#[sync(json)]` field: any type, through serde; nullable when written `Option<…>`.
fn json_kind(
    field: &ast::Field,
    role: Option<Role>,
    json: &syn::Path,
    at: usize,
    diag: &mut Diagnostics,
) -> Option<FieldType> {
    if let Some(role) = role {
        let what = if role == Role::Id { "the id".to_owned() } else { format!("a #[sync({})] field", role.key()) };
        diag.at(at, json, format!("`json` does not apply to {what}: its column and type are fixed by the protocol"));
        return None;
    }
    if matches!(field.kind, Ok(FieldType { scalar: Scalar::Json, .. })) {
        diag.at(at, json, "a `serde_json::Value` field is stored as JSON already: remove `json`");
        return None;
    }
    let inner = ast::without_option(field.ty);
    if ast::is_option(inner) {
        diag.at(
            at,
            field.ty,
            "a column is either null or a value, so `Option<Option<T>>` cannot be stored: \
             with #[sync(json)], `null` is `None`",
        );
        return None;
    }
    Some(FieldType { scalar: Scalar::SerdeJson, optional: ast::is_option(field.ty) })
}

/// `ty` is a bare name in `names` (a generic parameter).
fn is_one_of(ty: &Type, names: &[&Ident]) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.get_ident().is_some_and(|i| names.contains(&i)),
        _ => false,
    }
}

/// The table name: `#[sync(table = "...")]` or the struct's name, checked.
fn table_name(input: &ast::Input, diag: &mut Diagnostics) -> String {
    match &input.attrs.table {
        Some(lit) => {
            let name = lit.value();
            if let Err(reason) = check_name(&name) {
                diag.at(0, lit, format!("invalid table name {name:?}: {reason}"));
            }
            name
        }
        None => {
            let name = syn::ext::IdentExt::unraw(input.ident).to_string();
            if let Err(reason) = check_name(&name) {
                diag.at(
                    0,
                    input.ident,
                    format!("invalid table name `{name}`: {reason}; choose one with #[sync(table = \"...\")]"),
                );
            }
            name
        }
    }
}

/// The column of a field with no role, checked; `None` after reporting why it cannot be used.
fn user_column(field: &ast::Field, at: usize, diag: &mut Diagnostics) -> Option<String> {
    let (name, renamed) = match &field.attrs.rename {
        Some(lit) => (lit.value(), Some(lit)),
        None => (field.name.clone(), None),
    };
    let mut report = |message: String| match renamed {
        Some(lit) => diag.at(at, lit, message),
        None => diag.at(at, field.ident, message),
    };
    if let Err(reason) = check_name(&name) {
        let fix = if renamed.is_some() { "" } else { "; choose another one with #[sync(rename = \"...\")]" };
        report(format!("invalid column name {name:?}: {reason}{fix}"));
        return None;
    }
    if let Some(role) = Role::ALL.into_iter().find(|r| r.column().eq_ignore_ascii_case(&name)) {
        let what = if role.column() == name {
            format!("`{name}` is a system column")
        } else {
            format!("column `{name}` is the system column `{}` (names are compared ignoring case)", role.column())
        };
        report(match role {
            Role::Id => format!("{what}: the id is the field named `id`, or the `String` field marked #[sync(id)]"),
            _ => format!(
                "{what}: mark the field #[sync({})] (its type must be `{}`), or choose another column name with \
                 #[sync(rename = \"...\")]",
                role.key(),
                required_display(role),
            ),
        });
        return None;
    }
    let squashed = name.to_ascii_lowercase().replace('_', "");
    if renamed.is_none() {
        if let Some(role) =
            [Role::CreatedAt, Role::UpdatedAt].into_iter().find(|r| r.column().eq_ignore_ascii_case(&squashed))
        {
            report(format!(
                "field `{name}` looks like the system field `{}` but is not marked: mark it #[sync({})] \
                 (type `{}`), or write #[sync(rename = \"{name}\")] to keep a column of your own",
                role.column(),
                role.key(),
                required_display(role),
            ));
            return None;
        }
    }
    Some(name)
}

/// One id; each system role at most once.
fn check_roles(
    input: &ast::Input,
    holders: &[Holder],
    skipped_id: Option<(usize, &syn::Path)>,
    diag: &mut Diagnostics,
) {
    for role in Role::ALL {
        let mut of_role = holders.iter().filter(|h| h.role == role);
        let first = of_role.next();
        for holder in of_role {
            let first = first.map(|h| h.field.to_string()).unwrap_or_default();
            let (span, message) = match role {
                Role::Id => (
                    holder.field.span(),
                    format!(
                        "a second id field: the id is already field `{first}`; a struct has exactly one id field \
                         (the field named `id`, or the one marked #[sync(id)])"
                    ),
                ),
                _ => (
                    holder.span,
                    format!(
                        "a second #[sync({})] field: field `{first}` already maps to the system column `{}`",
                        role.key(),
                        role.column()
                    ),
                ),
            };
            diag.0.push((holder.at, syn::Error::new(span, message)));
        }
        if role == Role::Id && first.is_none() {
            match skipped_id {
                Some((at, skip)) => diag.at(at, skip, "the id field cannot be skipped: every record has an id"),
                None => diag.at(
                    0,
                    input.ident,
                    format!(
                        "`{}` has no id field: add a field `id: String`, or mark the `String` field that holds \
                         the id with #[sync(id)]",
                        input.ident
                    ),
                ),
            }
        }
    }
}

/// Whether `column` can join `kept`: no two fields share a column (ignoring ASCII case) or a
/// handle. A second holder of a role is not added either; `check_roles` reports it.
fn is_unique(column: &Column, kept: &[Column], field: &ast::Field, at: usize, diag: &mut Diagnostics) -> bool {
    if let Some(role) = column.role {
        return !kept.iter().any(|k| k.role == Some(role));
    }
    if let Some(other) = kept.iter().find(|k| k.name.eq_ignore_ascii_case(&column.name)) {
        let case = if other.name == column.name { "" } else { " (names are compared ignoring case)" };
        let message = format!(
            "column `{}` is already used by field `{}`{case}; give one of them another name with \
             #[sync(rename = \"...\")]",
            column.name, other.field
        );
        match &field.attrs.rename {
            Some(lit) => diag.at(at, lit, message),
            None => diag.at(at, column.field, message),
        }
        return false;
    }
    if let Some(other) = kept.iter().find(|k| k.handle == column.handle) {
        let message = format!(
            "field `{}` would get the column handle `{}`, which field `{}` already has; rename one of the fields",
            column.field, column.handle, other.field
        );
        diag.at(at, column.field, message);
        return false;
    }
    true
}

/// The type a role's field must have.
fn required(role: Role) -> FieldType {
    match role {
        Role::Id => FieldType { scalar: Scalar::String, optional: false },
        Role::CreatedAt | Role::UpdatedAt => FieldType { scalar: Scalar::DateTime, optional: true },
        Role::Version => FieldType { scalar: Scalar::String, optional: true },
        Role::Deleted => FieldType { scalar: Scalar::Bool, optional: false },
    }
}

fn required_display(role: Role) -> &'static str {
    match role {
        Role::Id => "String",
        Role::CreatedAt | Role::UpdatedAt => "Option<DateTime<Utc>>",
        Role::Version => "Option<String>",
        Role::Deleted => "bool",
    }
}

fn wrong_system_type(role: Role, ty: &Type) -> String {
    let found = display_type(ty);
    match role {
        Role::Id => format!(
            "the id field must be `String`, found `{found}`: ids are strings in the protocol; an entity that is not \
             stored yet has an empty id, and the engine gives it a new UUID on insert"
        ),
        Role::Deleted => format!(
            "a #[sync(deleted)] field must be `bool`, found `{found}`: it is the server's soft-delete flag, never \
             null (`false` until the item is deleted)"
        ),
        _ => format!(
            "a #[sync({key})] field must be `{req}`, found `{found}`: the server sets `{col}`, so it is unset \
             (`None`) until the item's first sync",
            key = role.key(),
            req = required_display(role),
            col = role.column(),
        ),
    }
}

fn rename_fixed(role: Role, implicit_id: bool) -> String {
    if implicit_id {
        "the field named `id` is the id, and the id column is always `id`: remove `rename`".to_owned()
    } else {
        format!("the column of a #[sync({})] field is always `{}`: remove `rename`", role.key(), role.column())
    }
}

fn key(path: &syn::Path) -> String {
    path.get_ident().map(ToString::to_string).unwrap_or_default()
}

fn path_span(path: &syn::Path) -> Span {
    path.get_ident().map_or_else(Span::call_site, Ident::span)
}

/// The naming rules of sync-core's `TableSchema` (checked again there at run time).
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("names cannot be empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => return Err("names start with an ASCII letter or '_'"),
        _ => {}
    }
    if name.len() > 128 {
        return Err("names are at most 128 bytes");
    }
    if name.starts_with("__") {
        return Err("names starting with '__' are reserved for the protocol and the system tables");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("names hold only ASCII letters, digits and '_'");
    }
    Ok(())
}

/// `due_date` → `DUE_DATE`, `dueDate` → `DUE_DATE`, `HTTPCode` → `HTTP_CODE`.
pub(crate) fn screaming_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if (prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_is_lower))
                && !out.ends_with('_')
            {
                out.push('_');
            }
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// The handle's identifier, when the field's name gives a valid one.
fn handle_ident(field: &str) -> Option<Ident> {
    syn::parse_str::<Ident>(&screaming_snake(field)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screaming_snake_case() {
        for (field, handle) in [
            ("text", "TEXT"),
            ("due_date", "DUE_DATE"),
            ("dueDate", "DUE_DATE"),
            ("HTTPCode", "HTTP_CODE"),
            ("item2Name", "ITEM2_NAME"),
            ("_private", "_PRIVATE"),
            ("a", "A"),
            ("already_SHOUTING", "ALREADY_SHOUTING"),
        ] {
            assert_eq!(screaming_snake(field), handle, "{field}");
        }
    }

    #[test]
    fn names_follow_the_table_rules() {
        assert!(check_name("TodoItem").is_ok());
        assert!(check_name("_x1").is_ok());
        assert!(check_name(&"a".repeat(128)).is_ok());
        for bad in ["", "1a", "__x", "a b", "a-b", "é", &"a".repeat(129)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
