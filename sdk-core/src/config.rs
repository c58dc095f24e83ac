//! Client settings, with the defaults of the protocol document. [`ClientConfig::from_json`]
//! reads the camelCase options object the browser SDK takes (durations in ms there).

use core::time::Duration;

use serde_json::Value;

use crate::json;

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
        let ms = |v: &Value| v.as_u64().map(Duration::from_millis);
        let r = v.get("reconnection").cloned().unwrap_or(Value::Null);
        let p = v.get("presence").cloned().unwrap_or(Value::Null);
        let dr = d.reconnection;
        let dp = d.presence;
        Ok(Self {
            base_url: json::optional(v, "baseUrl", |v| v.as_str().map(str::to_string))?
                .unwrap_or(d.base_url),
            reconnection: ReconnectConfig {
                enabled: json::optional(&r, "enabled", Value::as_bool)?.unwrap_or(dr.enabled),
                initial_delay: json::optional(&r, "initialDelayMs", ms)?
                    .unwrap_or(dr.initial_delay),
                max_delay: json::optional(&r, "maxDelayMs", ms)?.unwrap_or(dr.max_delay),
                max_attempts: json::optional(&r, "maxAttempts", |v| {
                    v.as_u64().map(|n| n.min(u32::MAX as u64) as u32)
                })?,
            },
            presence: PresenceConfig {
                heartbeat_interval: json::optional(&p, "heartbeatIntervalMs", ms)?
                    .unwrap_or(dp.heartbeat_interval),
                heartbeat_ack_timeout: json::optional(&p, "heartbeatAckTimeoutMs", ms)?,
                max_missed_heartbeats: json::optional(&p, "maxMissedHeartbeats", |v| {
                    v.as_u64().map(|n| n.min(u32::MAX as u64) as u32)
                })?
                .unwrap_or(dp.max_missed_heartbeats),
                throttle: json::optional(&p, "throttleMs", ms)?.unwrap_or(dp.throttle),
            },
            connect_timeout: json::optional(v, "connectTimeoutMs", ms)?
                .unwrap_or(d.connect_timeout),
            request_timeout: json::optional(v, "requestTimeoutMs", ms)?
                .unwrap_or(d.request_timeout),
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
    }
}
