//! `#[derive(SyncEntity)]` (work in progress).
use proc_macro::TokenStream;

/// Derives `sync_core::SyncEntity`.
#[proc_macro_derive(SyncEntity, attributes(sync))]
pub fn derive_sync_entity(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
