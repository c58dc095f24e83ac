//! Whether the presence store has been in trouble lately. A store outage or stall is no fault of
//! the clients, whose heartbeats failed meanwhile: so expiry is held until one TTL after the last
//! trouble, when every live connection has had a full TTL to heartbeat again. Loss and recovery
//! are logged once each, with counts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How long calls must succeed after a failure before the store counts as back.
const SETTLE: Duration = Duration::from_secs(1);

/// The store's recent trouble, as this node saw it.
#[derive(Debug)]
pub(crate) struct StoreHealth {
    /// Expiry waits this long after the last trouble.
    hold: Duration,
    /// A call that takes longer than this is a stall.
    stall: Duration,
    /// An outage is under way (`inner.outage` is set): a good call outside one takes no lock.
    troubled: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The last failed or stalled call.
    last_trouble: Option<Instant>,
    /// The current outage: when it began and how many calls failed or stalled in it.
    outage: Option<(Instant, u64)>,
}

impl StoreHealth {
    /// Holds expiry for `hold` after trouble; calls slower than `stall` count as trouble.
    pub(crate) fn new(hold: Duration, stall: Duration) -> Self {
        Self {
            hold,
            stall,
            troubled: AtomicBool::new(false),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records how a store call that started at `started` went.
    pub(crate) fn record(&self, started: Instant, ok: bool) {
        let now = Instant::now();
        let stalled = now.duration_since(started) > self.stall;
        let good = ok && !stalled;
        if good && !self.troubled.load(Ordering::Acquire) {
            return;
        }
        let mut inner = self.inner.lock().expect("store health lock");
        if good {
            // Back once calls succeed a while after the last failure: a store that fails now and
            // then (overload) is one outage, logged once, not one per failure.
            let settled = inner
                .last_trouble
                .is_none_or(|at| now.duration_since(at) >= SETTLE);
            if settled && let Some((since, calls)) = inner.outage.take() {
                self.troubled.store(false, Ordering::Release);
                tracing::info!(
                    failed_calls = calls,
                    outage_ms = now.duration_since(since).as_millis() as u64,
                    expiry_held_ms = self.hold.as_millis() as u64,
                    "presence store back; expiry resumes after one TTL"
                );
            }
            return;
        }
        inner.last_trouble = Some(now);
        match &mut inner.outage {
            Some((_, calls)) => *calls += 1,
            None => {
                tracing::warn!(
                    stalled,
                    "presence store unavailable; holding expiry until one TTL after it is back"
                );
                inner.outage = Some((started, 1));
                self.troubled.store(true, Ordering::Release);
            }
        }
    }

    /// Whether expiry must wait: the store had trouble less than one TTL ago.
    pub(crate) fn holding(&self) -> bool {
        let inner = self.inner.lock().expect("store health lock");
        inner
            .last_trouble
            .is_some_and(|at| at.elapsed() < self.hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn trouble_holds_expiry_for_one_ttl_after_it() {
        let health = StoreHealth::new(Duration::from_secs(3), Duration::from_secs(1));
        assert!(!health.holding());
        health.record(Instant::now(), true);
        assert!(!health.holding(), "a good call holds nothing");
        health.record(Instant::now(), false);
        assert!(health.holding());
        tokio::time::advance(Duration::from_secs(2)).await;
        health.record(Instant::now(), true);
        assert!(health.holding(), "still within one TTL of the failure");
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert!(!health.holding());
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_ends_once_calls_succeed_a_while_after_the_last_failure() {
        let health = StoreHealth::new(Duration::from_secs(3), Duration::from_secs(1));
        health.record(Instant::now(), false);
        health.record(Instant::now(), true);
        assert!(
            health.inner.lock().unwrap().outage.is_some(),
            "not back yet"
        );
        health.record(Instant::now(), false);
        assert_eq!(health.inner.lock().unwrap().outage.map(|(_, n)| n), Some(2));
        tokio::time::advance(SETTLE).await;
        health.record(Instant::now(), true);
        assert!(health.inner.lock().unwrap().outage.is_none(), "back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_call_is_trouble_even_when_it_succeeds() {
        let health = StoreHealth::new(Duration::from_secs(3), Duration::from_secs(1));
        let started = Instant::now();
        tokio::time::advance(Duration::from_millis(1500)).await;
        health.record(started, true);
        assert!(health.holding());
    }
}
