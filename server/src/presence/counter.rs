//! The counter: tells each room's `"count"` members the room's count when it changed, at most
//! once per interval, from one cheap read of the store per room that had events meanwhile.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::fanout::Fanout;
use super::store::PresenceStore;

/// Starts the counter.
pub(crate) fn spawn(
    store: Arc<dyn PresenceStore>,
    fanout: Arc<Fanout>,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            for room in fanout.counts_due() {
                match store.count(&room).await {
                    Ok(count) => fanout.broadcast_count(&room, count).await,
                    Err(err) => {
                        tracing::debug!(%err, %room, "a room's count could not be read");
                        fanout.recount(&room);
                    }
                }
            }
        }
    })
}
