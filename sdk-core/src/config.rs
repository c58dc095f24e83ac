//! Client settings, with the defaults of the protocol document. [`ClientConfig::from_json`]
//! reads the camelCase options object the browser SDK takes (durations in ms there).

use core::time::Duration;

use serde_json::Value;

use crate::backoff::Backoff;
use crate::json;
use crate::time::millis;

/// How a client connects and behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The server, `http(s)://host[:port]` (or `ws(s)://`).
    pub base_url: String,
    /// Reconnection after a lost connection.
    pub reconnection: ReconnectConfig,
    /// Presence heartbeats.
    pub presence: PresenceConfig,
    /// How long one connection attempt may take, up to the server's CONNECT answer.
    pub connect_timeout: Duration,
    /// How long a join, leave or ack may wait for its answer unless told otherwise.
    pub request_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: "http://localhost:3000".into(),
            reconnection: ReconnectConfig::default(),
            presence: PresenceConfig::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Reconnection: exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectConfig {
    /// Whether to reconnect at all after a connection was lost.
    pub enabled: bool,
    /// The upper bound of the first delay.
    pub initial_delay: Duration,
    /// The largest upper bound a delay grows to.
    pub max_delay: Duration,
    /// Give up after this many failed attempts in a row; `None`: never give up.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_attempts: None,
        }
    }
}

/// Presence heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceConfig {
    /// How often each channel heartbeats.
    pub heartbeat_interval: Duration,
    /// How long a heartbeat may wait for its ack; `None`: max(0.8 × interval, 1 s).
    pub heartbeat_ack_timeout: Option<Duration>,
    /// After this many heartbeats in a row without an ack, the connection is treated as dead.
    pub max_missed_heartbeats: u32,
    /// State updates within this window merge into one heartbeat (zero: each is sent at once).
    /// The first update after a quiet window goes at once; later ones wait for the window's end
    /// and go together, the latest value of each key winning (cursors, typing).
    pub throttle: Duration,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(10),
            heartbeat_ack_timeout: None,
            max_missed_heartbeats: 2,
            throttle: Duration::ZERO,
        }
    }
}

impl ClientConfig {
    /// Reads `{ baseUrl, reconnection?, presence?, connectTimeoutMs?, requestTimeoutMs? }` (camelCase,
    /// durations in ms, defaults for what is absent, unknown keys ignored); `Err` names a field of
    /// the wrong type.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let d = Self::default();
        // Every number through one `optional::<u64>` (one copy of it in WebAssembly).
        let uint = |v: &Value, key: &str| json::optional(v, key, Value::as_u64);
        let count = |n: u64| n.min(u64::from(u32::MAX)) as u32;
        let r = v.get("reconnection").unwrap_or(&Value::Null);
        let p = v.get("presence").unwrap_or(&Value::Null);
        let dr = d.reconnection;
        let dp = d.presence;
        Ok(Self {
            base_url: json::optional(v, "baseUrl", |v| v.as_str().map(str::to_string))?
                .unwrap_or(d.base_url),
            reconnection: ReconnectConfig {
                enabled: json::optional(r, "enabled", Value::as_bool)?.unwrap_or(dr.enabled),
                initial_delay: uint(r, "initialDelayMs")?
                    .map_or(dr.initial_delay, Duration::from_millis),
                max_delay: uint(r, "maxDelayMs")?.map_or(dr.max_delay, Duration::from_millis),
                max_attempts: uint(r, "maxAttempts")?.map(count),
            },
            presence: PresenceConfig {
                heartbeat_interval: uint(p, "heartbeatIntervalMs")?
                    .map_or(dp.heartbeat_interval, Duration::from_millis),
                heartbeat_ack_timeout: uint(p, "heartbeatAckTimeoutMs")?.map(Duration::from_millis),
                max_missed_heartbeats: uint(p, "maxMissedHeartbeats")?
                    .map_or(dp.max_missed_heartbeats, count),
                throttle: uint(p, "throttleMs")?.map_or(dp.throttle, Duration::from_millis),
            },
            connect_timeout: uint(v, "connectTimeoutMs")?
                .map_or(d.connect_timeout, Duration::from_millis),
            request_timeout: uint(v, "requestTimeoutMs")?
                .map_or(d.request_timeout, Duration::from_millis),
        })
    }
}

impl PresenceConfig {
    /// The heartbeat ack timeout in force.
    pub fn ack_timeout(&self) -> Duration {
        self.heartbeat_ack_timeout.unwrap_or_else(|| {
            let four_fifths = (self.heartbeat_interval / 5).saturating_mul(4);
            four_fifths.max(Duration::from_secs(1))
        })
    }
}

/// A [`ClientConfig`]'s durations in whole milliseconds, read once when the client is made. The
/// core's clock counts whole ms ([`crate::Instant`]), and its deadlines are that clock plus
/// these: `Duration`'s seconds-and-nanoseconds arithmetic would be repeated at every deadline
/// (a few hundred bytes of WebAssembly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// [`ClientConfig::connect_timeout`].
    pub(crate) connect_timeout_ms: u64,
    /// [`ClientConfig::request_timeout`].
    pub(crate) request_timeout_ms: u64,
    /// [`PresenceConfig::heartbeat_interval`].
    pub(crate) heartbeat_interval_ms: u64,
    /// [`PresenceConfig::ack_timeout`].
    pub(crate) ack_timeout_ms: u64,
    /// [`PresenceConfig::throttle`].
    pub(crate) throttle_ms: u64,
    /// [`ReconnectConfig`]'s delays.
    pub(crate) backoff: Backoff,
}

impl Timing {
    pub(crate) fn new(config: &ClientConfig) -> Self {
        Self {
            connect_timeout_ms: millis(config.connect_timeout),
            request_timeout_ms: millis(config.request_timeout),
            heartbeat_interval_ms: millis(config.presence.heartbeat_interval),
            ack_timeout_ms: ack_timeout_ms(&config.presence),
            throttle_ms: millis(config.presence.throttle),
            backoff: Backoff::new(&config.reconnection),
        }
    }
}

/// [`PresenceConfig::ack_timeout`] in whole milliseconds, without `Duration` arithmetic: the
/// default is `max(4 × ⌊interval / 5⌋, 1 s)` to the nanosecond, computed in `u128` nanoseconds
/// (a test checks it against `ack_timeout`).
fn ack_timeout_ms(presence: &PresenceConfig) -> u64 {
    match presence.heartbeat_ack_timeout {
        Some(timeout) => millis(timeout),
        None => {
            let four_fifths = presence.heartbeat_interval.as_nanos() / 5 * 4 / 1_000_000;
            u64::try_from(four_fifths).unwrap_or(u64::MAX).max(1_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_timeout_defaults_to_80_percent_but_at_least_a_second() {
        let p = PresenceConfig::default();
        assert_eq!(p.ack_timeout(), Duration::from_millis(8_000));
        let fast = PresenceConfig {
            heartbeat_interval: Duration::from_millis(500),
            ..p
        };
        assert_eq!(fast.ack_timeout(), Duration::from_millis(1_000));
        let set = PresenceConfig {
            heartbeat_ack_timeout: Some(Duration::from_millis(300)),
            ..p
        };
        assert_eq!(set.ack_timeout(), Duration::from_millis(300));
    }

    /// The core's ack timeout in ms is `ack_timeout` in whole ms, to the nanosecond.
    #[test]
    fn timing_reads_the_ack_timeout_as_ack_timeout_gives_it() {
        let mut intervals = vec![
            Duration::ZERO,
            Duration::from_nanos(4_999_999),
            Duration::from_micros(1_251_300),
            Duration::from_millis(1_249),
            Duration::from_millis(10_000),
            Duration::new(u64::MAX / 1_000, 999_999_999),
            Duration::new(u64::MAX / 800, 0),
            Duration::new(u64::MAX / 800 + 1, 0),
            Duration::MAX,
        ];
        let mut rng = fastrand::Rng::with_seed(5);
        intervals.extend(
            (0..2_000).map(|_| Duration::new(rng.u64(..100_000), rng.u32(..1_000_000_000))),
        );
        intervals.extend((0..200).map(|_| Duration::new(rng.u64(..), rng.u32(..1_000_000_000))));
        for interval in intervals {
            for ack in [None, Some(interval)] {
                let presence = PresenceConfig {
                    heartbeat_interval: interval,
                    heartbeat_ack_timeout: ack,
                    ..PresenceConfig::default()
                };
                assert_eq!(
                    ack_timeout_ms(&presence),
                    millis(presence.ack_timeout()),
                    "{interval:?}, {ack:?}"
                );
            }
        }
    }

    #[test]
    fn options_parse_from_camel_case_json_with_defaults() {
        let c = ClientConfig::from_json(&serde_json::json!(
            {"baseUrl":"http://h:1","reconnection":{"maxAttempts":3},"presence":{"heartbeatIntervalMs":2000,"throttleMs":50}}
        ))
        .unwrap();
        assert_eq!(c.base_url, "http://h:1");
        assert_eq!(c.reconnection.max_attempts, Some(3));
        assert_eq!(c.reconnection.initial_delay, Duration::from_millis(500));
        assert_eq!(c.presence.heartbeat_interval, Duration::from_millis(2000));
        assert_eq!(c.presence.max_missed_heartbeats, 2);
        assert_eq!(c.presence.throttle, Duration::from_millis(50));
        let err = ClientConfig::from_json(
            &serde_json::json!({"presence": {"heartbeatIntervalMs": "fast"}}),
        );
        assert_eq!(err.unwrap_err(), "heartbeatIntervalMs has the wrong type");
        let err =
            ClientConfig::from_json(&serde_json::json!({"reconnection": {"maxAttempts": -1}}));
        assert_eq!(err.unwrap_err(), "maxAttempts has the wrong type");
        let c = ClientConfig::from_json(&serde_json::json!(
            {"presence": {"maxMissedHeartbeats": 1u64 << 40, "heartbeatAckTimeoutMs": null}, "connectTimeoutMs": 1500}
        ))
        .unwrap();
        assert_eq!(c.presence.max_missed_heartbeats, u32::MAX);
        assert_eq!(c.presence.heartbeat_ack_timeout, None);
        assert_eq!(c.connect_timeout, Duration::from_millis(1_500));
    }
}
