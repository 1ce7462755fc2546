//! `#[derive(SyncValue)]`: a type of the user's as a column type. The shapes are small, so the
//! pipeline is one file: read the shape and its attributes (`shape`), then write the impl
//! (`expand`), or a stub impl and every error at once.
//!
//! - a unit-only enum: a string column of the variants' names (`rename`, `rename_all`);
//! - a newtype (one field): stored as the field's type;
//! - `#[sync(json)]` on the type: any serde type, as a JSON column.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Meta, Path};

use crate::attr::{flag, key_of, set_once, string_value, suggestion, sync_metas};
use crate::Errors;

/// What the type is stored as.
enum Shape<'a> {
    /// Unit variants and their stored names.
    Enum(Vec<(&'a Ident, String)>),
    /// The one field: its type, and how to name it (`0` or the field's name).
    Newtype { ty: &'a syn::Type, member: syn::Member },
    /// Any serde type.
    Json,
}

/// `#[sync(...)]` on the type.
#[derive(Default)]
struct Container {
    json: Option<Path>,
    rename_all: Option<(LitStr, Case)>,
}

/// The `rename_all` styles, as serde names them.
#[derive(Clone, Copy)]
enum Case {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

const CASES: [(&str, Case); 8] = [
    ("lowercase", Case::Lower),
    ("UPPERCASE", Case::Upper),
    ("PascalCase", Case::Pascal),
    ("camelCase", Case::Camel),
    ("snake_case", Case::Snake),
    ("SCREAMING_SNAKE_CASE", Case::ScreamingSnake),
    ("kebab-case", Case::Kebab),
    ("SCREAMING-KEBAB-CASE", Case::ScreamingKebab),
];

const KEYS: &str = "`json`, `rename_all = \"...\"` (on the type), `rename = \"...\"` (on a variant)";

/// Runs the derive: the impl, or the errors and a stub impl.
pub(crate) fn derive(node: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let container = container(node, &mut errors);
    let shape = shape(node, &container, &mut errors);
    match (errors.finish(), shape) {
        (None, Some(shape)) => expand(node, &shape),
        (error, _) => {
            let error = error.unwrap_or_else(|| syn::Error::new(Span::call_site(), "#[derive(SyncValue)] failed"));
            let errors = error.to_compile_error();
            let stub = stub(node);
            quote!(#errors #stub)
        }
    }
}

fn container(node: &DeriveInput, errors: &mut Errors) -> Container {
    let mut out = Container::default();
    for meta in sync_metas(&node.attrs, errors) {
        let key = key_of(meta.path());
        match key.as_str() {
            "json" => {
                if flag(&meta, errors) {
                    set_once(&mut out.json, meta.path().clone(), &meta, errors);
                }
            }
            "rename_all" => {
                let Some(lit) = string_value(&meta, "rename_all = \"snake_case\"", errors) else { continue };
                match CASES.iter().find(|(name, _)| *name == lit.value()) {
                    Some((_, case)) => set_once(&mut out.rename_all, (lit, *case), &meta, errors),
                    None => {
                        let names: Vec<String> = CASES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                        errors.spanned(&lit, format!("unknown `rename_all` style; the styles are {}", names.join(", ")))
                    }
                }
            }
            _ => errors.spanned(
                meta.path(),
                format!(
                    "unknown #[sync] key `{key}` for #[derive(SyncValue)]; the keys are {KEYS}{}",
                    suggestion(&key, &["json", "rename_all", "rename"])
                ),
            ),
        }
    }
    out
}

fn shape<'a>(node: &'a DeriveInput, container: &Container, errors: &mut Errors) -> Option<Shape<'a>> {
    if container.json.is_some() {
        if let Some((lit, _)) = &container.rename_all {
            errors.spanned(lit, "`rename_all` does not apply with `json`: serde writes the value (use #[serde(...)])");
        }
        return Some(Shape::Json);
    }
    match &node.data {
        Data::Enum(data) => {
            if !node.generics.params.is_empty() {
                errors.spanned(
                    &node.generics,
                    "#[derive(SyncValue)] stores an enum by its variants' names: it cannot be generic",
                );
            }
            if data.variants.is_empty() {
                errors.spanned(&node.ident, "an enum without variants has no value to store");
            }
            let mut names: Vec<(&Ident, String)> = Vec::new();
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    errors.spanned(
                        &variant.fields,
                        format!(
                            "variant `{}` holds data: #[derive(SyncValue)] stores unit variants as strings; to store \
                             an enum with data, derive serde's `Serialize` and `Deserialize` and mark the type \
                             #[sync(json)] (or the field #[sync(json)])",
                            variant.ident
                        ),
                    );
                }
                let name = variant_name(variant, container, errors);
                if let Some((other, _)) = names.iter().find(|(_, n)| *n == name) {
                    errors.spanned(
                        &variant.ident,
                        format!(
                            "variant `{}` would be stored as {name:?}, like `{other}`: rename one of them",
                            variant.ident
                        ),
                    );
                }
                names.push((&variant.ident, name));
            }
            Some(Shape::Enum(names))
        }
        Data::Struct(data) => {
            let mut fields = data.fields.iter();
            match (fields.next(), fields.next()) {
                (Some(field), None) => {
                    for meta in sync_metas(&field.attrs, errors) {
                        errors
                            .spanned(meta.path(), "a newtype's field takes no #[sync] keys: it is stored as its type");
                    }
                    let member = match &field.ident {
                        Some(ident) => syn::Member::Named(ident.clone()),
                        None => syn::Member::Unnamed(syn::Index::from(0)),
                    };
                    Some(Shape::Newtype { ty: &field.ty, member })
                }
                _ => {
                    let span = match &data.fields {
                        Fields::Unit => node.ident.span(),
                        fields => fields.span(),
                    };
                    errors.push(syn::Error::new(
                        span,
                        "#[derive(SyncValue)] stores a struct with exactly one field (a newtype, `struct Cents(i64);`) \
                         as that field; to store a struct with several fields as JSON, derive serde's `Serialize` \
                         and `Deserialize` and mark the struct #[sync(json)]",
                    ));
                    None
                }
            }
        }
        Data::Union(data) => {
            let (token, ident) = (data.union_token, &node.ident);
            errors.spanned(quote!(#token #ident), "#[derive(SyncValue)] works on enums and structs, not unions");
            None
        }
    }
}

/// The stored name of a unit variant: `rename`, else `rename_all` applied to the variant's name.
fn variant_name(variant: &syn::Variant, container: &Container, errors: &mut Errors) -> String {
    let mut rename: Option<LitStr> = None;
    for meta in sync_metas(&variant.attrs, errors) {
        match key_of(meta.path()).as_str() {
            "rename" => {
                if let Some(lit) = string_value(&meta, "rename = \"name\"", errors) {
                    set_once(&mut rename, lit, &meta, errors);
                }
            }
            key => errors.spanned(
                meta.path(),
                match &meta {
                    Meta::Path(_) if key == "json" || key == "rename_all" => {
                        format!("`{key}` goes on the enum, not on a variant")
                    }
                    _ => format!("unknown #[sync] key `{key}` on a variant; the only key here is `rename = \"...\"`"),
                },
            ),
        }
    }
    let ident = syn::ext::IdentExt::unraw(&variant.ident).to_string();
    match (rename, &container.rename_all) {
        (Some(lit), _) => lit.value(),
        (None, Some((_, case))) => apply(*case, &ident),
        (None, None) => ident,
    }
}

/// A `PascalCase` variant name in `case`, as serde's `rename_all` writes it.
fn apply(case: Case, pascal: &str) -> String {
    let words = |sep: char| {
        let mut out = String::with_capacity(pascal.len() + 4);
        for (i, c) in pascal.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        }
        out
    };
    match case {
        Case::Lower => pascal.to_lowercase(),
        Case::Upper => pascal.to_uppercase(),
        Case::Pascal => pascal.to_owned(),
        Case::Camel => {
            let mut chars = pascal.chars();
            chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
        }
        Case::Snake => words('_'),
        Case::ScreamingSnake => words('_').to_uppercase(),
        Case::Kebab => words('-'),
        Case::ScreamingKebab => words('-').to_uppercase(),
    }
}

fn expand(node: &DeriveInput, shape: &Shape) -> TokenStream {
    let ident = &node.ident;
    let mut generics = node.generics.clone();
    let p = quote!(::sync_core::__private);
    let body = match shape {
        Shape::Enum(variants) => {
            let names: Vec<&String> = variants.iter().map(|(_, n)| n).collect();
            let idents: Vec<&Ident> = variants.iter().map(|(i, _)| *i).collect();
            quote! {
                const COLUMN_TYPE: #p::ColumnType = #p::ColumnType::String;

                fn to_json(&self) -> ::core::result::Result<#p::serde_json::Value, #p::ValueError> {
                    let name: &'static ::core::primitive::str = match self {
                        #(Self::#idents => #names,)*
                    };
                    ::core::result::Result::Ok(#p::serde_json::Value::String(::std::string::String::from(name)))
                }

                fn from_json(value: &#p::serde_json::Value) -> ::core::result::Result<Self, #p::ValueError> {
                    match #p::serde_json::Value::as_str(value) {
                        #(::core::option::Option::Some(#names) => ::core::result::Result::Ok(Self::#idents),)*
                        _ => ::core::result::Result::Err(#p::unknown_name(value, &[#(#names),*])),
                    }
                }
            }
        }
        Shape::Newtype { ty, member } => {
            // A generic newtype is a `SyncValue` when its field is; a concrete field's type is
            // checked where it is used, so a missing impl is reported on the field.
            if !generics.params.is_empty() {
                generics.make_where_clause().predicates.push(syn::parse_quote!(#ty: #p::SyncValue));
            }
            quote! {
                const COLUMN_TYPE: #p::ColumnType = <#ty as #p::SyncValue>::COLUMN_TYPE;
                const NULLABLE: ::core::primitive::bool = <#ty as #p::SyncValue>::NULLABLE;

                fn to_json(&self) -> ::core::result::Result<#p::serde_json::Value, #p::ValueError> {
                    <#ty as #p::SyncValue>::to_json(&self.#member)
                }

                fn from_json(value: &#p::serde_json::Value) -> ::core::result::Result<Self, #p::ValueError> {
                    ::core::result::Result::Ok(Self { #member: <#ty as #p::SyncValue>::from_json(value)? })
                }
            }
        }
        Shape::Json => {
            generics.make_where_clause().predicates.push(syn::parse_quote!(
                Self: #p::serde::Serialize + #p::serde::de::DeserializeOwned
            ));
            quote! {
                const COLUMN_TYPE: #p::ColumnType = #p::ColumnType::Json;

                fn to_json(&self) -> ::core::result::Result<#p::serde_json::Value, #p::ValueError> {
                    #p::serde_to_json(self)
                }

                fn from_json(value: &#p::serde_json::Value) -> ::core::result::Result<Self, #p::ValueError> {
                    #p::serde_from_json(value)
                }
            }
        }
    };
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    // JSON columns take no comparisons; the others compare with the type's values.
    let query = match shape {
        Shape::Json => TokenStream::new(),
        _ => quote! {
            #[automatically_derived]
            impl #impl_generics ::core::convert::From<#ident #ty_generics> for #p::QueryValue #where_clause {
                fn from(value: #ident #ty_generics) -> Self {
                    #p::query_value(&value)
                }
            }
        },
    };
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #p::SyncValue for #ident #ty_generics #where_clause {
                #body
            }

            #query
        };
    }
}

/// On error: an impl whose only job is to keep fields of the type from adding errors of their own.
fn stub(node: &DeriveInput) -> TokenStream {
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    let p = quote!(::sync_core::__private);
    let fail = quote!(::core::panic!("#[derive(SyncValue)] failed: see the compile errors"));
    quote! {
        const _: () = {
            impl #impl_generics #p::SyncValue for #ident #ty_generics #where_clause {
                const COLUMN_TYPE: #p::ColumnType = #p::ColumnType::String;
                fn to_json(&self) -> ::core::result::Result<#p::serde_json::Value, #p::ValueError> {
                    #fail
                }
                fn from_json(_: &#p::serde_json::Value) -> ::core::result::Result<Self, #p::ValueError> {
                    #fail
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_all_styles_match_serde() {
        let all = |name: &str| CASES.map(|(_, case)| apply(case, name));
        assert_eq!(
            all("VeryHigh"),
            ["veryhigh", "VERYHIGH", "VeryHigh", "veryHigh", "very_high", "VERY_HIGH", "very-high", "VERY-HIGH"]
        );
        assert_eq!(all("A")[4], "a");
    }
}
