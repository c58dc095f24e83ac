//! Reconnect delays: exponential backoff with full jitter (a uniform delay between zero and a
//! bound that doubles per attempt, capped), so clients that lost one server do not return in step.

use core::time::Duration;

use crate::config::ReconnectConfig;
use crate::time::millis;

/// The delay before reconnect attempt `attempt` (0 for the first), drawn with `rng` in whole
/// milliseconds.
pub fn delay(config: &ReconnectConfig, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
    Duration::from_millis(Backoff::new(config).delay_ms(attempt, rng))
}

/// The upper bound of that delay: `initial × 2^attempt`, at most `max`.
pub fn bound(config: &ReconnectConfig, attempt: u32) -> Duration {
    Duration::from_millis(Backoff::new(config).bound_ms(attempt))
}

/// A [`ReconnectConfig`]'s delays in whole milliseconds, read once when the client is made:
/// the core draws its delays with these (see [`crate::config::Timing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    initial_ms: u64,
    max_ms: u64,
}

impl Backoff {
    pub(crate) fn new(config: &ReconnectConfig) -> Self {
        Self::from_ms(millis(config.initial_delay), millis(config.max_delay))
    }

    /// Bounds from `initial_ms`, doubling per attempt up to `max_ms`.
    pub(crate) const fn from_ms(initial_ms: u64, max_ms: u64) -> Self {
        Self { initial_ms, max_ms }
    }

    /// [`delay`], in ms.
    pub(crate) fn delay_ms(self, attempt: u32, rng: &mut fastrand::Rng) -> u64 {
        rng.u64(0..=self.bound_ms(attempt))
    }

    /// [`bound`], in ms.
    fn bound_ms(self, attempt: u32) -> u64 {
        let factor = 1u64.checked_shl(attempt.min(32)).unwrap_or(u64::MAX);
        self.initial_ms.saturating_mul(factor).min(self.max_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_double_up_to_the_cap() {
        let c = ReconnectConfig {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            ..Default::default()
        };
        let bounds: Vec<u64> = (0..6).map(|a| millis(bound(&c, a))).collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(
            bound(&c, 200),
            Duration::from_millis(1_000),
            "no overflow on long outages"
        );
    }

    #[test]
    fn delays_are_spread_over_the_whole_range() {
        let c = ReconnectConfig {
            initial_delay: Duration::from_millis(1_000),
            max_delay: Duration::from_millis(1_000),
            ..Default::default()
        };
        let mut rng = fastrand::Rng::with_seed(7);
        let delays: Vec<u64> = (0..2_000).map(|_| millis(delay(&c, 3, &mut rng))).collect();
        assert!(delays.iter().all(|&d| d <= 1_000));
        let low = delays.iter().filter(|&&d| d < 250).count();
        let high = delays.iter().filter(|&&d| d > 750).count();
        assert!(
            low > 350 && high > 350,
            "full jitter, not clustered: {low} low, {high} high"
        );
    }
}
