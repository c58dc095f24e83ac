//! The reaper: removes connections whose TTL ran out and announces their `leave`.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::store::PresenceStore;
use crate::metrics::Metrics;

/// How many expired connections one store call removes at most.
const BATCH: usize = 500;

/// Runs the reaper every `interval` until aborted, counting what it removes (and its failures)
/// in `metrics`.
pub(crate) fn spawn(
    store: Arc<dyn PresenceStore>,
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
                match store.reap(BATCH).await {
                    Ok(n) => {
                        metrics.presence_expired(n);
                        if n == BATCH {
                            continue;
                        }
                        if n > 0 {
                            tracing::debug!(expired = n, "reaped presence connections");
                        }
                        break;
                    }
                    Err(err) => {
                        metrics.store_error();
                        tracing::warn!(%err, "presence reaper failed");
                        break;
                    }
                }
            }
        }
    })
}
