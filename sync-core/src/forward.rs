//! One macro forwards an async trait through `Arc<T>` and `Box<T>`, so `Arc<dyn Store>` and
//! `Box<dyn Remote>` are stores and remotes themselves. `clippy::missing_trait_methods` is denied
//! on the generated impls: a method added to the trait (even one with a default body) that the
//! macro's list misses fails the lint instead of silently running the default.

/// `forward_through_pointers!(Trait { async fn name(&self, arg: Type, …) -> Ret; … fn name(&self) -> Ret; … })`:
/// the async methods first, then the plain ones.
macro_rules! forward_through_pointers {
    ($trait:ident {
        $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)*
        $(fn $plain:ident(&self) -> $plain_ret:ty;)*
    }) => {
        forward_through_pointers!(@impl [::std::sync::Arc], $trait {
            $(async fn $method(&self $(, $arg: $ty)*) -> $ret;)* $(fn $plain(&self) -> $plain_ret;)*
        });
        forward_through_pointers!(@impl [::std::boxed::Box], $trait {
            $(async fn $method(&self $(, $arg: $ty)*) -> $ret;)* $(fn $plain(&self) -> $plain_ret;)*
        });
    };
    (@impl [$($pointer:tt)*], $trait:ident {
        $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*
        $(fn $plain:ident(&self) -> $plain_ret:ty;)*
    }) => {
        #[::async_trait::async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<T: $trait + ?Sized> $trait for $($pointer)*<T> {
            $(
                async fn $method(&self $(, $arg: $ty)*) -> $ret {
                    (**self).$method($($arg),*).await
                }
            )*
            $(
                fn $plain(&self) -> $plain_ret {
                    (**self).$plain()
                }
            )*
        }
    };
}

pub(crate) use forward_through_pointers;
