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
        Duration::from_millis(self.ms_since(earlier))
    }

    /// The instant `ms` milliseconds later; the end of time at the most (`+ Duration` for the
    /// core, which keeps its durations in whole ms: see [`crate::config::Timing`]).
    pub(crate) const fn add_ms(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms))
    }

    /// Whole milliseconds from `earlier` to this instant; zero when `earlier` is later.
    pub(crate) const fn ms_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// The instant `duration` later, in whole milliseconds (a fraction of one is dropped); the
    /// end of time at the most.
    fn add(self, duration: Duration) -> Instant {
        self.add_ms(millis(duration))
    }
}

/// `duration` in whole milliseconds, at most `u64::MAX` (in `u64`: `Duration::as_millis` gives
/// a `u128`). A comparison rather than `saturating_mul`, whose overflow test WebAssembly (no
/// 64-bit high multiply) spells out in some eighty bytes; one copy for every caller.
#[inline(never)]
pub(crate) fn millis(duration: Duration) -> u64 {
    let secs = duration.as_secs();
    if secs > u64::MAX / 1_000 {
        return u64::MAX;
    }
    (secs * 1_000).saturating_add(u64::from(duration.subsec_millis()))
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
        assert_eq!(t.add_ms(u64::MAX), Instant::from_millis(u64::MAX));
        assert_eq!((later.ms_since(t), t.ms_since(later)), (40, 0));
        assert_eq!(
            millis(Duration::new(u64::MAX / 1_000, 999_999_999)),
            u64::MAX
        );
        assert_eq!(millis(Duration::new(u64::MAX / 1_000 + 1, 0)), u64::MAX);
        assert_eq!(millis(Duration::new(3, 999_999)), 3_000);
    }
}
