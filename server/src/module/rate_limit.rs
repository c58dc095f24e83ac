//! A per-connection token bucket, so that one client's flood cannot starve the others.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socketioxide::extract::SocketRef;

use crate::error::{AckError, ErrorCode};

/// Rate limit settings: `per_sec` requests a second on average, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_sec: f64,
    /// Largest burst.
    pub burst: f64,
}

impl Default for RateLimit {
    /// Far above what a normal client does (a heartbeat every 10 s, a few chat messages).
    fn default() -> Self {
        Self {
            per_sec: 50.0,
            burst: 100.0,
        }
    }
}

/// A token bucket. Time is passed in, so it is tested without sleeping.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: limit.burst,
            last: now,
        }
    }

    /// Takes one token at `now`; false when the bucket is empty.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * self.limit.per_sec).min(self.limit.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until one token is available.
    pub fn retry_after(&self) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / self.limit.per_sec.max(f64::MIN_POSITIVE))
    }
}

/// The bucket of one connection, kept in its socket extensions.
#[derive(Clone)]
pub(crate) struct SocketBucket(pub(crate) Arc<Mutex<TokenBucket>>);

/// Takes a token from the socket's bucket, or answers `rate_limited`.
pub(crate) fn check(socket: &SocketRef) -> Result<(), AckError> {
    let Some(SocketBucket(bucket)) = socket.extensions.get::<SocketBucket>() else {
        return Ok(());
    };
    let mut bucket = bucket.lock().expect("bucket lock");
    if bucket.try_take(Instant::now()) {
        Ok(())
    } else {
        Err(AckError::new(
            ErrorCode::RateLimited,
            format!(
                "too many requests; retry in {} ms",
                bucket.retry_after().as_millis().max(1)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            RateLimit {
                per_sec: 10.0,
                burst: 3.0,
            },
            t0,
        );
        assert!(b.try_take(t0) && b.try_take(t0) && b.try_take(t0));
        assert!(!b.try_take(t0));
        assert_eq!(b.retry_after(), Duration::from_millis(100));
        assert!(!b.try_take(t0 + Duration::from_millis(50)));
        assert!(b.try_take(t0 + Duration::from_millis(101)));
        // Refill never exceeds the burst.
        let later = t0 + Duration::from_secs(60);
        assert!(b.try_take(later) && b.try_take(later) && b.try_take(later));
        assert!(!b.try_take(later));
    }
}
