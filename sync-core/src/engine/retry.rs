//! Bounded retries of transient remote failures, on `backon`'s exponential back-off.

use std::future::Future;

use backon::Retryable;

use super::options::RetryPolicy;
use crate::error::RemoteError;

/// Runs `call`, retrying transient failures with the policy's back-off (exponential, with
/// jitter unless disabled, never above its `max_backoff`) up to its limit.
pub(crate) async fn with_retry<T, F, Fut>(policy: &RetryPolicy, call: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    let cap = policy.max_backoff;
    call.retry(policy.exponential())
        .sleep(tokio::time::sleep)
        .when(RemoteError::is_retryable)
        .adjust(move |_, delay| delay.map(|d| d.min(cap)))
        .notify(|e, delay| tracing::debug!(?delay, "retrying after a transient failure: {e}"))
        .await
}
