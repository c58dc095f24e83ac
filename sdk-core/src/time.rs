//! Time as the client sees it: [`Instant`]s on the driver's monotonic clock, and
//! [`Duration`]s between them.
//!
//! The core reads no clock: the driver passes `now` with every input, read from whatever
//! monotonic clock it has (`performance.now()` in a browser, `tokio::time::Instant` natively) as
//! whole milliseconds since an origin of its choosing. `std::time::Instant` is not used: it
//! panics on `wasm32-unknown-unknown`. An `Instant` is one `u64`, as cheap as a bare number.

use core::ops::Add;
use core::time::Duration;

/// A point in time: whole milliseconds since the origin of the driver's monotonic clock (its
/// start, the page's load: any origin, as long as it stays the same for one [`Client`]).
///
/// [`Client`]: crate::Client
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The instant `ms` milliseconds after the clock's origin.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the clock's origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to this instant; zero when `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// The instant `duration` later, in whole milliseconds (a fraction of one is dropped); the
    /// end of time at the most.
    fn add(self, duration: Duration) -> Instant {
        Instant(self.0.saturating_add(millis(duration)))
    }
}

/// `duration` in whole milliseconds, at most `u64::MAX` (in `u64`: `Duration::as_millis` gives
/// a `u128`).
pub(crate) fn millis(duration: Duration) -> u64 {
    let whole = duration.as_secs().saturating_mul(1_000);
    whole.saturating_add(u64::from(duration.subsec_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_add_durations_in_whole_milliseconds() {
        let t = Instant::from_millis(1_000);
        assert_eq!(
            t + Duration::from_micros(2_500),
            Instant::from_millis(1_002)
        );
        assert_eq!(t + Duration::MAX, Instant::from_millis(u64::MAX));
        let later = Instant::from_millis(1_040);
        assert_eq!(
            later.saturating_duration_since(t),
            Duration::from_millis(40)
        );
        assert_eq!(t.saturating_duration_since(later), Duration::ZERO);
    }
}
