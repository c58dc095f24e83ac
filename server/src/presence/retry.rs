//! Store writes that must happen even when the store failed them (an undone join, a departure):
//! retried in the background with exponential backoff and jitter, so that thousands of them
//! after one burst do not come back all at once, for up to one TTL (by then the entry, which gets
//! no heartbeats, has expired anyway).

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use super::store::StoreError;

/// Retries `call` until it succeeds, for up to `ttl`; `what` names it in the logs.
pub(crate) fn in_background<F, Fut>(what: &'static str, ttl: Duration, call: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let backoff = ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .with_total_delay(Some(ttl));
    tokio::spawn(async move {
        match call.retry(backoff).sleep(tokio::time::sleep).await {
            Ok(()) => tracing::debug!(what, "a store write retried in the background is done"),
            Err(err) => tracing::warn!(%err, what, "a store write retried for one TTL failed"),
        }
    });
}
