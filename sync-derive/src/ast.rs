//! Parse: the struct's shape, its fields and their types, as the derive sees them.

use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type, TypePath};

use crate::attr;
use crate::Errors;

/// A struct with named fields.
pub(crate) struct Input<'a> {
    /// The struct's name.
    pub ident: &'a Ident,
    /// Its generics (the derive rejects them).
    pub generics: &'a syn::Generics,
    /// `#[sync(...)]` on the struct.
    pub attrs: attr::Container,
    /// The fields, in order.
    pub fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    /// The field name as written (possibly raw, `r#type`).
    pub ident: &'a Ident,
    /// The field name without `r#`.
    pub name: String,
    /// The type as written.
    pub ty: &'a Type,
    /// The type, if it is one a column can hold.
    pub kind: Result<FieldType, Unsupported<'a>>,
    /// `#[sync(...)]` on the field.
    pub attrs: attr::Field,
    /// What was wrong with those attributes, reported in field order by `valid`.
    pub attr_errors: Option<syn::Error>,
}

/// What a supported field type stores.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FieldType {
    /// The value type.
    pub scalar: Scalar,
    /// Written as `Option<T>`.
    pub optional: bool,
}

/// The supported value types (a field's type without `Option`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scalar {
    /// `String`.
    String,
    /// `bool`.
    Bool,
    /// One of the integer types that fit an `i64`, by name.
    Int(&'static str),
    /// `f32` or `f64`, by name.
    Float(&'static str),
    /// `DateTime<Utc>`.
    DateTime,
    /// `serde_json::Value`.
    Json,
    /// Any other type: the column is whatever its `SyncValue` impl says.
    Custom,
    /// Any type, through serde, marked `#[sync(json)]` (set by `valid`, never by `field_type`).
    SerdeJson,
}

/// Why a field type is not supported: the (inner) type at fault and a hint.
pub(crate) struct Unsupported<'a> {
    /// The offending type (for `Option<Vec<u8>>`, the `Vec<u8>`).
    pub ty: &'a Type,
    /// Advice specific to the type, if any.
    pub hint: Option<&'static str>,
}

const INTS: [&str; 7] = ["i8", "i16", "i32", "i64", "u8", "u16", "u32"];
const FLOATS: [&str; 2] = ["f32", "f64"];

impl<'a> Input<'a> {
    /// Parses the derive input; `None` (with an error) unless it is a struct with named fields.
    pub(crate) fn from_syn(node: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let attrs = attr::container(&node.attrs, errors);
        let named = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(fields) => {
                    errors.spanned(
                        fields,
                        "#[derive(SyncEntity)] needs named fields: each field is a column named after it, \
                         so a tuple struct cannot be mapped",
                    );
                    return None;
                }
                Fields::Unit => {
                    errors.spanned(
                        &node.ident,
                        "#[derive(SyncEntity)] needs a struct with named fields, at least the `id: String`",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                let (token, ident) = (data.enum_token, &node.ident);
                errors.spanned(
                    quote::quote!(#token #ident),
                    "#[derive(SyncEntity)] works on structs with named fields, not enums: a table has one set of columns",
                );
                return None;
            }
            Data::Union(data) => {
                let (token, ident) = (data.union_token, &node.ident);
                errors.spanned(
                    quote::quote!(#token #ident),
                    "#[derive(SyncEntity)] works on structs with named fields, not unions",
                );
                return None;
            }
        };
        let fields = named
            .named
            .iter()
            .filter_map(|f| {
                let ident = f.ident.as_ref()?;
                let mut attr_errors = Errors::default();
                let attrs = attr::field(&f.attrs, &mut attr_errors);
                Some(Field {
                    ident,
                    name: ident.unraw().to_string(),
                    ty: &f.ty,
                    kind: field_type(&f.ty),
                    attrs,
                    attr_errors: attr_errors.finish(),
                })
            })
            .collect();
        Some(Input { ident: &node.ident, generics: &node.generics, attrs, fields })
    }
}

/// Recognises a field type by its name as written: one of the types the derive knows, a type it
/// refuses with a hint (`u64`, `Vec<T>`…, which no one but sync-core could give a `SyncValue`
/// impl), or any other type, left to its `SyncValue` impl.
pub(crate) fn field_type(ty: &Type) -> Result<FieldType, Unsupported<'_>> {
    let ty = ungroup(ty);
    if let Some(inner) = generic_arg(ty, "Option") {
        let inner = ungroup(inner);
        if generic_arg(inner, "Option").is_some() {
            return Err(Unsupported {
                ty,
                hint: Some("a column is either null or a value, so `Option<Option<T>>` cannot be stored"),
            });
        }
        return scalar(inner).map(|scalar| FieldType { scalar, optional: true });
    }
    scalar(ty).map(|scalar| FieldType { scalar, optional: false })
}

fn scalar(ty: &Type) -> Result<Scalar, Unsupported<'_>> {
    let unsupported = |hint| Err(Unsupported { ty, hint });
    let Some(last) = last_segment(ty) else {
        return unsupported(match ty {
            Type::Reference(_) => Some("an entity owns its data; use `String` rather than `&str`"),
            Type::Tuple(_) | Type::Array(_) | Type::Slice(_) => {
                Some("store structured data as JSON with #[sync(json)]")
            }
            _ => None,
        });
    };
    let name = last.ident.to_string();
    let no_args = last.arguments.is_none();
    if no_args {
        if let Some(int) = INTS.iter().find(|i| **i == name) {
            return Ok(Scalar::Int(int));
        }
        if let Some(float) = FLOATS.iter().find(|f| **f == name) {
            return Ok(Scalar::Float(float));
        }
    }
    match name.as_str() {
        "String" if no_args => Ok(Scalar::String),
        "bool" if no_args => Ok(Scalar::Bool),
        "Value" if no_args => Ok(Scalar::Json),
        "DateTime" => match generic_arg(ty, "DateTime").and_then(last_segment) {
            Some(tz) if tz.ident == "Utc" && tz.arguments.is_none() => Ok(Scalar::DateTime),
            _ => unsupported(Some("date-times are stored in UTC; use `DateTime<Utc>`")),
        },
        "u64" | "i128" | "u128" => {
            unsupported(Some("integer columns are signed 64-bit; use `i64`, or `u32` and smaller unsigned types"))
        }
        "usize" | "isize" => {
            unsupported(Some("the size of `usize`/`isize` depends on the platform; use `i64` or `u32`"))
        }
        "str" => unsupported(Some("use `String`")),
        "char" if no_args => unsupported(Some("use `String`")),
        "Vec" | "HashMap" | "BTreeMap" | "HashSet" | "BTreeSet" | "VecDeque" => {
            unsupported(Some("store a collection as JSON with #[sync(json)], or in a table of its own"))
        }
        "Box" | "Rc" | "Arc" | "Cow" => unsupported(Some("store the value itself, not a pointer to it")),
        "NaiveDateTime" | "SystemTime" | "OffsetDateTime" | "PrimitiveDateTime" | "Instant" => {
            unsupported(Some("date-times are `chrono::DateTime<Utc>`"))
        }
        // A known name with the wrong arguments (`String<X>`) is not the known type.
        "String" | "bool" | "Value" => unsupported(None),
        n if INTS.contains(&n) || FLOATS.contains(&n) => unsupported(None),
        _ => Ok(Scalar::Custom),
    }
}

/// The type without `Option<…>`: what a column handle compares with.
pub(crate) fn without_option(ty: &Type) -> &Type {
    let ty = ungroup(ty);
    generic_arg(ty, "Option").map_or(ty, ungroup)
}

/// Written `Option<…>`.
pub(crate) fn is_option(ty: &Type) -> bool {
    generic_arg(ungroup(ty), "Option").is_some()
}

/// `Type::Group` appears when a type comes through a `macro_rules!` fragment; `Type::Paren` when
/// written `(T)`.
fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(g) => ty = &g.elem,
            Type::Paren(p) => ty = &p.elem,
            _ => return ty,
        }
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ungroup(ty) {
        Type::Path(TypePath { qself: None, path }) => path.segments.last(),
        _ => None,
    }
}

/// The single type argument of `Name<T>`, when `ty`'s last path segment is `Name`.
fn generic_arg<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let last = last_segment(ty)?;
    if last.ident != name {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match args.args.first() {
            Some(GenericArgument::Type(t)) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// A type as the user would write it, for messages (`Vec<u8>`, not `Vec < u8 >`).
pub(crate) fn display_type(ty: &Type) -> String {
    let raw = quote::quote!(#ty).to_string();
    let mut out = String::with_capacity(raw.len());
    let mut prev = ' ';
    let chars: Vec<char> = raw.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let drop_space = c == ' '
            && (matches!(prev, '<' | '&' | ':' | '(' | '[') || matches!(next, '<' | '>' | ',' | ';' | ':' | ')' | ']'));
        if !drop_space {
            out.push(c);
        }
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(src: &str) -> Option<FieldType> {
        field_type(&syn::parse_str::<Type>(src).unwrap()).ok()
    }

    #[test]
    fn recognises_supported_types() {
        let plain = |scalar| Some(FieldType { scalar, optional: false });
        assert_eq!(kind("String"), plain(Scalar::String));
        assert_eq!(kind("std::string::String"), plain(Scalar::String));
        assert_eq!(kind("u32"), plain(Scalar::Int("u32")));
        assert_eq!(kind("f32"), plain(Scalar::Float("f32")));
        assert_eq!(kind("chrono::DateTime<chrono::Utc>"), plain(Scalar::DateTime));
        assert_eq!(kind("serde_json::Value"), plain(Scalar::Json));
        assert_eq!(kind("Option<bool>"), Some(FieldType { scalar: Scalar::Bool, optional: true }));
        assert_eq!(
            kind("::core::option::Option<DateTime<Utc>>"),
            Some(FieldType { scalar: Scalar::DateTime, optional: true })
        );
        for bad in
            ["u64", "usize", "Vec<u8>", "&str", "(i32, i32)", "DateTime<Local>", "Option<Option<i32>>", "String<X>"]
        {
            assert_eq!(kind(bad), None, "{bad}");
        }
        // Any other type is left to its `SyncValue` impl.
        for custom in ["Priority", "uuid::Uuid", "T", "crate::money::Cents"] {
            assert_eq!(kind(custom), Some(FieldType { scalar: Scalar::Custom, optional: false }), "{custom}");
        }
        assert_eq!(kind("Option<Priority>"), Some(FieldType { scalar: Scalar::Custom, optional: true }));
    }

    #[test]
    fn displays_types_compactly() {
        for src in
            ["Vec<u8>", "HashMap<String, i32>", "&'static str", "(i32, i32)", "std::vec::Vec<Option<u8>>", "[u8; 4]"]
        {
            assert_eq!(display_type(&syn::parse_str::<Type>(src).unwrap()), src);
        }
    }
}
