//! The reaper: removes connections whose deadline passed (TTL without heartbeats, or the grace of
//! a lost connection) and announces their `leave`. It expires nothing while the store's health
//! holds expiry (until one TTL after an outage or a stall), checked again after each read of the
//! due connections, which may itself have stalled.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::health::StoreHealth;
use super::store::{PresenceStore, StoreError};
use crate::metrics::Metrics;

/// How many expired connections one round removes at most.
const BATCH: usize = 500;

/// Runs the reaper every `interval` until aborted, counting what it removes (and its failures)
/// in `metrics`.
pub(crate) fn spawn(
    store: Arc<dyn PresenceStore>,
    health: Arc<StoreHealth>,
    interval: Duration,
    metrics: &Metrics,
) -> JoinHandle<()> {
    let metrics = metrics.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            loop {
                match round(&*store, &health).await {
                    Ok(n) => {
                        metrics.presence_expired(n);
                        if n > 0 {
                            tracing::debug!(expired = n, "reaped presence connections");
                        }
                        if n < BATCH {
                            break;
                        }
                    }
                    Err(err) => {
                        metrics.store_error();
                        tracing::debug!(%err, "presence reaper failed");
                        break;
                    }
                }
            }
        }
    })
}

/// One round: up to [`BATCH`] due connections expired; none while expiry is held.
async fn round(store: &dyn PresenceStore, health: &StoreHealth) -> Result<usize, StoreError> {
    if health.holding() {
        return Ok(0);
    }
    let due = store.due(BATCH).await?;
    if health.holding() {
        return Ok(0);
    }
    let mut expired = 0;
    for (room, conn) in &due {
        expired += usize::from(store.expire(room, conn).await?);
    }
    Ok(expired)
}
