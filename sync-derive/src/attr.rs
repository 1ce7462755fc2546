//! Attributes: `#[sync(...)]` on the struct and on its fields, read key by key. Every key is
//! recorded with its tokens so later errors can point at it; only the syntax is checked here
//! (known key, right form, not repeated), the combinations are checked in `valid`.

use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Path, Token};

use crate::Errors;

/// `#[sync(...)]` on the struct.
#[derive(Default)]
pub(crate) struct Container {
    /// `table = "..."`.
    pub table: Option<LitStr>,
    /// `renamed_from = "..."`: the table's former name.
    pub renamed_from: Option<LitStr>,
    /// `keep_cursors`: adding columns keeps the pull cursors.
    pub keep_cursors: Option<Path>,
}

/// `#[sync(...)]` on a field.
#[derive(Default)]
pub(crate) struct Field {
    /// `id`, `created_at`, `updated_at`, `version`, `deleted`, in the order written.
    pub roles: Vec<(Role, Path)>,
    /// `rename = "..."`.
    pub rename: Option<LitStr>,
    /// `skip`.
    pub skip: Option<Path>,
    /// `default` (the type's `Default`) or `default = <expr>`.
    pub default: Option<DefaultValue>,
    /// `renamed_from = "..."`: the column's former name.
    pub renamed_from: Option<LitStr>,
    /// `convert`: stored values of another type are converted.
    pub convert: Option<Path>,
    /// `json`: the value is stored as JSON, by serde.
    pub json: Option<Path>,
}

/// `#[sync(default)]` or `#[sync(default = <expr>)]`.
pub(crate) struct DefaultValue {
    /// The key, for spans.
    pub key: Path,
    /// The expression, or `None` for the type's `Default`.
    pub value: Option<Expr>,
}

/// What a field is to the protocol: the id or one of the server-owned system fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// `#[sync(id)]`: column `id`.
    Id,
    /// `#[sync(created_at)]`: column `createdAt`.
    CreatedAt,
    /// `#[sync(updated_at)]`: column `updatedAt`.
    UpdatedAt,
    /// `#[sync(version)]`: column `version`.
    Version,
    /// `#[sync(deleted)]`: column `deleted`.
    Deleted,
}

impl Role {
    /// Every role, `Id` first.
    pub(crate) const ALL: [Role; 5] = [Role::Id, Role::CreatedAt, Role::UpdatedAt, Role::Version, Role::Deleted];

    /// The attribute key.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Role::Id => "id",
            Role::CreatedAt => "created_at",
            Role::UpdatedAt => "updated_at",
            Role::Version => "version",
            Role::Deleted => "deleted",
        }
    }

    /// The column (sync-core's `system` names).
    pub(crate) fn column(self) -> &'static str {
        match self {
            Role::Id => "id",
            Role::CreatedAt => "createdAt",
            Role::UpdatedAt => "updatedAt",
            Role::Version => "version",
            Role::Deleted => "deleted",
        }
    }

    fn from_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }
}

const CONTAINER_KEYS: &str = "`table = \"...\"`, `renamed_from = \"...\"`, `keep_cursors`";
const FIELD_KEYS: &str = "`id`, `created_at`, `updated_at`, `version`, `deleted`, `rename = \"...\"`, `skip`, \
                          `default`, `default = ...`, `renamed_from = \"...\"`, `convert`, `json`";

/// Reads `#[sync(...)]` on the struct.
pub(crate) fn container(attrs: &[Attribute], errors: &mut Errors) -> Container {
    let mut out = Container::default();
    for meta in sync_metas(attrs, errors) {
        let key = key_of(meta.path());
        match key.as_str() {
            "table" => {
                if let Some(lit) = string_value(&meta, "table = \"TodoItem\"", errors) {
                    set_once(&mut out.table, lit, &meta, errors);
                }
            }
            "renamed_from" => {
                if let Some(lit) = string_value(&meta, "renamed_from = \"OldTable\"", errors) {
                    set_once(&mut out.renamed_from, lit, &meta, errors);
                }
            }
            "keep_cursors" => {
                if flag(&meta, errors) {
                    set_once(&mut out.keep_cursors, meta.path().clone(), &meta, errors);
                }
            }
            k if ["rename", "skip", "default", "convert", "json"].contains(&k) || Role::from_key(k).is_some() => errors
                .spanned(
                    meta.path(),
                    format!("`{k}` goes on a field; on the struct the only #[sync] key is {CONTAINER_KEYS}"),
                ),
            _ => errors.spanned(
                meta.path(),
                format!(
                    "unknown #[sync] key `{key}` on a struct; the keys here are {CONTAINER_KEYS}{}",
                    suggestion(&key, &["table", "renamed_from", "keep_cursors"])
                ),
            ),
        }
    }
    out
}

/// Reads `#[sync(...)]` on a field.
pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> Field {
    let mut out = Field::default();
    for meta in sync_metas(attrs, errors) {
        let key = key_of(meta.path());
        if let Some(role) = Role::from_key(&key) {
            if flag(&meta, errors) {
                if out.roles.iter().any(|(r, _)| *r == role) {
                    errors.spanned(meta.path(), format!("duplicate #[sync] key `{key}`"));
                } else {
                    out.roles.push((role, meta.path().clone()));
                }
            }
            continue;
        }
        match key.as_str() {
            "rename" => {
                if let Some(lit) = string_value(&meta, "rename = \"columnName\"", errors) {
                    set_once(&mut out.rename, lit, &meta, errors);
                }
            }
            "skip" => {
                if flag(&meta, errors) {
                    set_once(&mut out.skip, meta.path().clone(), &meta, errors);
                }
            }
            "default" => {
                let value = match &meta {
                    Meta::Path(_) => Some(None),
                    Meta::NameValue(nv) => Some(Some(nv.value.clone())),
                    Meta::List(_) => {
                        errors.spanned(&meta, "write #[sync(default)] or #[sync(default = <expression>)]");
                        None
                    }
                };
                if let Some(value) = value {
                    set_once(&mut out.default, DefaultValue { key: meta.path().clone(), value }, &meta, errors);
                }
            }
            "renamed_from" => {
                if let Some(lit) = string_value(&meta, "renamed_from = \"oldName\"", errors) {
                    set_once(&mut out.renamed_from, lit, &meta, errors);
                }
            }
            "convert" => {
                if flag(&meta, errors) {
                    set_once(&mut out.convert, meta.path().clone(), &meta, errors);
                }
            }
            "json" => {
                if flag(&meta, errors) {
                    set_once(&mut out.json, meta.path().clone(), &meta, errors);
                }
            }
            "keep_cursors" => errors.spanned(
                meta.path(),
                format!("`keep_cursors` goes on the struct; on a field the #[sync] keys are {FIELD_KEYS}"),
            ),
            "table" => errors.spanned(
                meta.path(),
                format!("`table` goes on the struct: #[sync(table = \"...\")]; on a field the #[sync] keys are {FIELD_KEYS}"),
            ),
            _ => {
                let known = [
                    "id",
                    "created_at",
                    "updated_at",
                    "version",
                    "deleted",
                    "rename",
                    "skip",
                    "default",
                    "renamed_from",
                    "convert",
                    "json",
                ];
                errors.spanned(
                    meta.path(),
                    format!("unknown #[sync] key `{key}`; on a field the keys are {FIELD_KEYS}{}", suggestion(&key, &known)),
                )
            }
        }
    }
    out
}

/// The items of every `#[sync(...)]` attribute, in order. Other attributes are not ours.
pub(crate) fn sync_metas(attrs: &[Attribute], errors: &mut Errors) -> Vec<Meta> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("sync")) {
        match attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(items) => out.extend(items),
            Err(e) => errors.push(e),
        }
    }
    out
}

pub(crate) fn key_of(path: &Path) -> String {
    match path.get_ident() {
        Some(ident) => ident.to_string(),
        None => quote::quote!(#path).to_string().replace(' ', ""),
    }
}

/// A bare key (`skip`); reports any other form.
pub(crate) fn flag(meta: &Meta, errors: &mut Errors) -> bool {
    match meta {
        Meta::Path(_) => true,
        _ => {
            let key = key_of(meta.path());
            errors.spanned(meta, format!("`{key}` takes no value: write #[sync({key})]"));
            false
        }
    }
}

/// The string of `key = "..."`; reports any other form.
pub(crate) fn string_value(meta: &Meta, example: &str, errors: &mut Errors) -> Option<LitStr> {
    if let Meta::NameValue(nv) = meta {
        if let Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) = &nv.value {
            return Some(lit.clone());
        }
        errors.spanned(&nv.value, format!("expected a string literal: #[sync({example})]"));
        return None;
    }
    let key = key_of(meta.path());
    errors.spanned(meta, format!("`{key}` takes a string: write #[sync({example})]"));
    None
}

pub(crate) fn set_once<T>(slot: &mut Option<T>, value: T, meta: &Meta, errors: &mut Errors) {
    if slot.is_some() {
        errors.spanned(meta.path(), format!("duplicate #[sync] key `{}`", key_of(meta.path())));
    } else {
        *slot = Some(value);
    }
}

/// `"; did you mean `x`?"` when `key` is a known key in another case or spelling.
pub(crate) fn suggestion(key: &str, known: &[&str]) -> String {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], "");
    let aliases: &[(&str, &str)] = &[
        ("ignore", "skip"),
        ("name", "rename"),
        ("column", "rename"),
        ("key", "id"),
        ("was", "renamed_from"),
        ("oldname", "renamed_from"),
        ("alias", "renamed_from"),
    ];
    let wanted = norm(key);
    known
        .iter()
        .copied()
        .find(|k| norm(k) == wanted)
        .or_else(|| aliases.iter().find(|(alias, k)| *alias == wanted && known.contains(k)).map(|(_, k)| *k))
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_known_keys() {
        let known = ["id", "created_at", "rename", "skip"];
        assert_eq!(suggestion("createdAt", &known), "; did you mean `created_at`?");
        assert_eq!(suggestion("ignore", &known), "; did you mean `skip`?");
        assert_eq!(suggestion("column", &known), "; did you mean `rename`?");
        assert_eq!(suggestion("frobnicate", &known), "");
    }
}
