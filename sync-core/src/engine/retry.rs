//! Bounded retries of transient remote failures.

use std::future::Future;

use super::options::RetryPolicy;
use crate::error::RemoteError;

/// Runs `call`, retrying transient failures with exponential back-off up to the policy's limit.
pub(crate) async fn with_retry<T, F, Fut>(policy: &RetryPolicy, mut call: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    let mut attempt = 0u32;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt < policy.max_retries => {
                let delay = policy.backoff(attempt);
                tracing::debug!(attempt, ?delay, "retrying after a transient failure: {e}");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
