//! Expand: the generated code. Everything lives in `const _: () = { ... };` and names only
//! `::sync_core::__private` paths (and `::core`/`::std` for the prelude), so nothing in the user's
//! scope can change its meaning.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{self, FieldType, Scalar};
use crate::attr::Role;
use crate::valid::{self, Column, Entity};
use crate::Errors;

/// Runs the pipeline: the impl, or the errors and a stub impl.
pub(crate) fn derive(node: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let entity = ast::Input::from_syn(node, &mut errors).map(|input| valid::check(&input, &mut errors));
    match (errors.finish(), entity) {
        (None, Some(entity)) => entity_impl(&entity),
        (error, entity) => {
            let error = error.unwrap_or_else(|| syn::Error::new(Span::call_site(), "#[derive(SyncEntity)] failed"));
            stub(node, entity.as_ref(), error)
        }
    }
}

/// The full impl of a valid entity.
fn entity_impl(entity: &Entity) -> TokenStream {
    let ident = entity.ident;
    let table = &entity.table;
    let Some(id) = entity.id else {
        // `valid` reports a missing id, so this is not reached.
        return syn::Error::new_spanned(ident, "#[derive(SyncEntity)]: no id field").to_compile_error();
    };
    let user: Vec<&Column> = entity.columns.iter().filter(|c| c.role.is_none()).collect();
    let system: Vec<&Column> = entity.columns.iter().filter(|c| !matches!(c.role, None | Some(Role::Id))).collect();

    let schema_columns = user.iter().map(|c| {
        let name = &c.name;
        let ty = field_type(c);
        let mut column = match column_type(c.kind.scalar) {
            Some(column_ty) => {
                let ctor = if nullable(c.kind) { quote!(nullable) } else { quote!(new) };
                quote!(::sync_core::__private::Column::#ctor(#name, ::sync_core::__private::ColumnType::#column_ty))
            }
            // The type says: `<T as SyncValue>`, spanned at the type, so a type without the
            // impl gets one error there.
            None => {
                let inner = ast::without_option(c.ty);
                let nullable = match c.kind.optional {
                    true => quote!(true),
                    false => quote_spanned!(span(c)=> <#inner as ::sync_core::__private::SyncValue>::NULLABLE),
                };
                quote_spanned! {span(c)=>
                    ::sync_core::__private::column(
                        #name,
                        <#inner as ::sync_core::__private::SyncValue>::COLUMN_TYPE,
                        #nullable,
                    )
                }
            }
        };
        if let Some(default) = &c.default {
            let value = match default {
                Some(expr) => quote_spanned!(expr.span()=> { let __default: #ty = #expr; __default }),
                None => quote_spanned!(span(c)=> <#ty as ::core::default::Default>::default()),
            };
            let json = to_json(c, &ty, quote!(&#value));
            column = quote!(::sync_core::__private::Column::with_default(
                #column,
                ::sync_core::__private::default_value(#name, #json),
            ));
        }
        if let Some(old) = &c.renamed_from {
            column = quote!(::sync_core::__private::Column::renamed_from(#column, #old));
        }
        if c.convert {
            column = quote!(::sync_core::__private::Column::converted(#column));
        }
        column
    });
    let renamed_table = match &entity.renamed_from {
        Some(old) => quote!(::core::option::Option::Some(#old)),
        None => quote!(::core::option::Option::None),
    };
    let keep_cursors = entity.keep_cursors;
    let mut schema = quote! {
        ::sync_core::__private::evolving_schema(
            <Self as ::sync_core::__private::SyncEntity>::TABLE,
            ::std::vec![#(#schema_columns),*],
            #renamed_table,
            #keep_cursors,
        )
    };
    // Values of the derive's own choosing are checked by their types when a record is conformed.
    let checks: Vec<TokenStream> = user
        .iter()
        .filter(|c| matches!(c.kind.scalar, Scalar::Custom | Scalar::SerdeJson))
        .map(|c| {
            let name = &c.name;
            let read = read_value(c, &field_type(c));
            quote_spanned! {span(c)=>
                (
                    #name,
                    (|__v: &::sync_core::__private::serde_json::Value| {
                        ::core::result::Result::map(#read, |_| ())
                    }) as fn(
                        &::sync_core::__private::serde_json::Value,
                    ) -> ::core::result::Result<(), ::sync_core::__private::ValueError>,
                )
            }
        })
        .collect();
    if !checks.is_empty() {
        schema = quote!(::sync_core::__private::with_value_checks(#schema, &[#(#checks),*]));
    }

    let set_fields = user.iter().chain(&system).map(|c| {
        let (field, name) = (c.field, &c.name);
        let ty = field_type(c);
        let json = to_json(c, &ty, quote!(__value));
        // Spanned at the field's type: if a name we recognised (`Value`, `DateTime`…) is not the
        // type we assumed, the mismatch is reported on that type.
        quote_spanned! {span(c)=>
            let __value: &#ty = &self.#field;
            ::sync_core::__private::Record::set(
                &mut __record,
                #name,
                ::sync_core::__private::written(#name, #json)?,
            )?;
        }
    });

    let read_fields = user.iter().chain(&system).map(|c| {
        let (field, name) = (c.field, &c.name);
        if c.role == Some(Role::Deleted) {
            // Like the schema: an absent or null `deleted` is `false`.
            quote! {
                #field: ::core::option::Option::unwrap_or(
                    ::sync_core::__private::read(
                        __record,
                        #name,
                        <::core::option::Option<::core::primitive::bool> as ::sync_core::__private::SyncValue>::from_json,
                    )?,
                    false,
                )
            }
        } else {
            let read = from_json(c, &field_type(c));
            quote_spanned!(span(c)=> #field: ::sync_core::__private::read(__record, #name, #read)?)
        }
    });
    let skipped = &entity.skipped;
    let handles = handles(entity);

    quote! {
        const _: () = {
            #[automatically_derived]
            impl ::sync_core::__private::SyncEntity for #ident {
                const TABLE: &'static ::core::primitive::str = #table;

                fn schema() -> ::sync_core::__private::TableSchema {
                    #schema
                }

                fn to_record(
                    &self,
                ) -> ::core::result::Result<::sync_core::__private::Record, ::sync_core::__private::RecordError> {
                    let mut __record = ::sync_core::__private::record_with_id(&self.#id)?;
                    #(#set_fields)*
                    ::core::result::Result::Ok(__record)
                }

                fn from_record(
                    __record: &::sync_core::__private::Record,
                ) -> ::core::result::Result<Self, ::sync_core::__private::RecordError> {
                    ::core::result::Result::Ok(#ident {
                        #id: ::std::string::String::from(::sync_core::__private::Record::id(__record)),
                        #(#read_fields,)*
                        #(#skipped: ::core::default::Default::default(),)*
                    })
                }

                fn id(&self) -> &::core::primitive::str {
                    &self.#id
                }

                fn set_id(&mut self, id: ::std::string::String) {
                    self.#id = id;
                }
            }

            #handles
        };
    }
}

/// The typed column handles, as inherent associated consts.
fn handles(entity: &Entity) -> TokenStream {
    let ident = entity.ident;
    let consts = entity.columns.iter().map(|c| {
        let mut handle = c.handle.clone();
        handle.set_span(c.field.span());
        let ty = match scalar_type(c.kind.scalar) {
            Some(ty) => ty,
            None => {
                let inner = ast::without_option(c.ty);
                quote!(#inner)
            }
        };
        let name = &c.name;
        let null = if nullable(c.kind) { ", nullable" } else { "" };
        let what = match c.kind.scalar {
            Scalar::Custom => format!("`{}`", ast::display_type(ast::without_option(c.ty))),
            other => describe(other).to_owned(),
        };
        let null = if c.kind.scalar == Scalar::Custom && !c.kind.optional { "" } else { null };
        let doc = format!("Column `{name}` of table `{}` ({what}{null}).", entity.table);
        quote! {
            #[doc = #doc]
            pub const #handle: ::sync_core::__private::Col<#ty> = ::sync_core::__private::Col::new(#name);
        }
    });
    quote! {
        #[allow(dead_code)]
        impl #ident {
            #(#consts)*
        }
    }
}

/// On error: the errors, plus an impl whose only job is to keep the user's other code from
/// failing with "`SyncEntity` is not implemented" (and the handles that could be checked).
fn stub(node: &DeriveInput, entity: Option<&Entity>, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let table = entity.map_or_else(|| node.ident.to_string(), |e| e.table.clone());
    let imp = stub_impl(&node.ident, &node.generics, &table);
    let handles = match entity {
        Some(entity) if node.generics.params.is_empty() => handles(entity),
        _ => TokenStream::new(),
    };
    quote! {
        #errors
        const _: () = {
            #imp
            #handles
        };
    }
}

fn stub_impl(ident: &syn::Ident, generics: &syn::Generics, table: &str) -> TokenStream {
    let mut generics = generics.clone();
    if !generics.params.is_empty() {
        // Keeps the stub from adding its own errors about the trait's supertraits.
        generics.make_where_clause().predicates.push(syn::parse_quote!(
            Self: ::core::marker::Send + ::core::marker::Sync + 'static
        ));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let fail = quote!(::core::panic!("#[derive(SyncEntity)] failed: see the compile errors"));
    quote! {
        impl #impl_generics ::sync_core::__private::SyncEntity for #ident #ty_generics #where_clause {
            const TABLE: &'static ::core::primitive::str = #table;
            fn schema() -> ::sync_core::__private::TableSchema {
                #fail
            }
            fn to_record(
                &self,
            ) -> ::core::result::Result<::sync_core::__private::Record, ::sync_core::__private::RecordError> {
                #fail
            }
            fn from_record(
                _: &::sync_core::__private::Record,
            ) -> ::core::result::Result<Self, ::sync_core::__private::RecordError> {
                #fail
            }
            fn id(&self) -> &::core::primitive::str {
                #fail
            }
            fn set_id(&mut self, _: ::std::string::String) {
                #fail
            }
        }
    }
}

/// A JSON column holds `null` as a value, so it is nullable even when not an `Option`. (A field
/// of another `SyncValue` type is nullable when its type says so; see `schema_columns`.)
fn nullable(kind: FieldType) -> bool {
    kind.optional || kind.scalar == Scalar::Json
}

/// The column type of the types the derive knows; `None` for the others, whose `SyncValue`
/// impl says.
fn column_type(scalar: Scalar) -> Option<TokenStream> {
    Some(match scalar {
        Scalar::String => quote!(String),
        Scalar::Bool => quote!(Bool),
        Scalar::Int(_) => quote!(Integer),
        Scalar::Float(_) => quote!(Real),
        Scalar::DateTime => quote!(DateTime),
        Scalar::Json | Scalar::SerdeJson => quote!(Json),
        Scalar::Custom => return None,
    })
}

fn describe(scalar: Scalar) -> &'static str {
    match scalar {
        Scalar::String => "string",
        Scalar::Bool => "boolean",
        Scalar::Int(_) => "integer",
        Scalar::Float(_) => "real",
        Scalar::DateTime => "date-time",
        Scalar::Json | Scalar::SerdeJson => "JSON",
        Scalar::Custom => "a `SyncValue` type",
    }
}

/// The value type of a type the derive knows, by full path; `None` for the others.
fn scalar_type(scalar: Scalar) -> Option<TokenStream> {
    Some(match scalar {
        Scalar::String => quote!(::std::string::String),
        Scalar::Bool => quote!(::core::primitive::bool),
        Scalar::Int(name) | Scalar::Float(name) => {
            let name = format_ident!("{}", name);
            quote!(::core::primitive::#name)
        }
        Scalar::DateTime => {
            quote!(::sync_core::__private::chrono::DateTime<::sync_core::__private::chrono::Utc>)
        }
        Scalar::Json => quote!(::sync_core::__private::serde_json::Value),
        Scalar::Custom | Scalar::SerdeJson => return None,
    })
}

/// Where errors about the field's type go: the type, or for an `Option` of a type of the user's,
/// that type (where a missing `SyncValue` impl is).
fn span(c: &Column) -> Span {
    match c.kind.scalar {
        Scalar::Custom => ast::without_option(c.ty).span(),
        _ => c.ty.span(),
    }
}

/// The field's type: by full path for the types the derive knows, as written for the others.
fn field_type(c: &Column) -> TokenStream {
    match scalar_type(c.kind.scalar) {
        Some(scalar) if c.kind.optional => quote!(::core::option::Option<#scalar>),
        Some(scalar) => scalar,
        None => {
            let ty = c.ty;
            quote!(#ty)
        }
    }
}

/// `value` (a `&T`) as its JSON value: by serde for `#[sync(json)]`, by `SyncValue` otherwise.
///
/// A type of the user's is named without its `Option` (`<Colour as SyncValue>`, never
/// `<Option<Colour> as SyncValue>`): every use then needs the same bound at the same span, so a
/// type without the impl gets one error, not one per use.
fn to_json(c: &Column, ty: &TokenStream, value: TokenStream) -> TokenStream {
    let inner = ast::without_option(c.ty);
    match c.kind.scalar {
        Scalar::SerdeJson => quote_spanned!(span(c)=> ::sync_core::__private::serde_to_json::<#ty>(#value)),
        Scalar::Custom if c.kind.optional => quote_spanned! {span(c)=>
            ::sync_core::__private::option_to_json(#value, <#inner as ::sync_core::__private::SyncValue>::to_json)
        },
        Scalar::Custom => quote_spanned!(span(c)=> <#inner as ::sync_core::__private::SyncValue>::to_json(#value)),
        _ => quote_spanned!(span(c)=> <#ty as ::sync_core::__private::SyncValue>::to_json(#value)),
    }
}

/// Reads `__v` (a `&Value`) as the field's type, for the value checks: by serde for
/// `#[sync(json)]`, by `SyncValue` otherwise (the types of the user's only).
fn read_value(c: &Column, ty: &TokenStream) -> TokenStream {
    let inner = ast::without_option(c.ty);
    match c.kind.scalar {
        Scalar::SerdeJson => quote_spanned!(span(c)=> ::sync_core::__private::serde_from_json::<#ty>(__v)),
        Scalar::Custom if c.kind.optional => quote_spanned! {span(c)=>
            ::sync_core::__private::option_from_json(__v, <#inner as ::sync_core::__private::SyncValue>::from_json)
        },
        _ => quote_spanned!(span(c)=> <#ty as ::sync_core::__private::SyncValue>::from_json(__v)),
    }
}

/// The function reading the field's value: by serde for `#[sync(json)]`, by `SyncValue` otherwise.
/// For the types the derive knows, the type is inferred from the field: a name that is not the
/// type assumed (`Value`, `DateTime`) is reported once, by `to_record`.
fn from_json(c: &Column, ty: &TokenStream) -> TokenStream {
    match c.kind.scalar {
        Scalar::SerdeJson => quote_spanned!(span(c)=> ::sync_core::__private::serde_from_json::<#ty>),
        Scalar::Custom if c.kind.optional => {
            let inner = ast::without_option(c.ty);
            quote_spanned! {span(c)=>
                (|__v: &::sync_core::__private::serde_json::Value| {
                    ::sync_core::__private::option_from_json(__v, <#inner as ::sync_core::__private::SyncValue>::from_json)
                })
            }
        }
        Scalar::Custom => quote_spanned!(span(c)=> <#ty as ::sync_core::__private::SyncValue>::from_json),
        _ => quote_spanned!(span(c)=> ::sync_core::__private::SyncValue::from_json),
    }
}
