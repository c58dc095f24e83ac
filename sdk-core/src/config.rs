//! Client settings, with the defaults of the protocol document. [`ClientConfig::from_json`]
//! reads the camelCase options object the browser SDK takes.

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
    /// How long one connection attempt may take, up to the server's CONNECT answer, ms.
    pub connect_timeout_ms: u64,
    /// How long a join, leave or ack may wait for its answer unless told otherwise, ms.
    pub request_timeout_ms: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: "http://localhost:3000".into(),
            reconnection: ReconnectConfig::default(),
            presence: PresenceConfig::default(),
            connect_timeout_ms: 10_000,
            request_timeout_ms: 10_000,
        }
    }
}

/// Reconnection: exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectConfig {
    /// Whether to reconnect at all after a connection was lost.
    pub enabled: bool,
    /// The upper bound of the first delay, ms.
    pub initial_delay_ms: u64,
    /// The largest upper bound a delay grows to, ms.
    pub max_delay_ms: u64,
    /// Give up after this many failed attempts in a row; `None`: never give up.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            initial_delay_ms: 500,
            max_delay_ms: 10_000,
            max_attempts: None,
        }
    }
}

/// Presence heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceConfig {
    /// How often each channel heartbeats, ms.
    pub heartbeat_interval_ms: u64,
    /// How long a heartbeat may wait for its ack, ms; `None`: max(0.8 × interval, 1 s).
    pub heartbeat_ack_timeout_ms: Option<u64>,
    /// After this many heartbeats in a row without an ack, the connection is treated as dead.
    pub max_missed_heartbeats: u32,
    /// State updates within this window merge into one heartbeat, ms (0: each is sent at once).
    /// The first update after a quiet window goes at once; later ones wait for the window's end
    /// and go together, the latest value of each key winning (cursors, typing).
    pub throttle_ms: u64,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval_ms: 10_000,
            heartbeat_ack_timeout_ms: None,
            max_missed_heartbeats: 2,
            throttle_ms: 0,
        }
    }
}

impl ClientConfig {
    /// Reads `{ baseUrl, reconnection?, presence?, connectTimeoutMs?, requestTimeoutMs? }` (camelCase,
    /// defaults for what is absent, unknown keys ignored); `Err` names a field of the wrong type.
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let d = Self::default();
        let uint = |v: &Value| v.as_u64();
        let r = v.get("reconnection").cloned().unwrap_or(Value::Null);
        let p = v.get("presence").cloned().unwrap_or(Value::Null);
        let dr = d.reconnection;
        let dp = d.presence;
        Ok(Self {
            base_url: json::optional(v, "baseUrl", |v| v.as_str().map(str::to_string))?
                .unwrap_or(d.base_url),
            reconnection: ReconnectConfig {
                enabled: json::optional(&r, "enabled", Value::as_bool)?.unwrap_or(dr.enabled),
                initial_delay_ms: json::optional(&r, "initialDelayMs", uint)?
                    .unwrap_or(dr.initial_delay_ms),
                max_delay_ms: json::optional(&r, "maxDelayMs", uint)?.unwrap_or(dr.max_delay_ms),
                max_attempts: json::optional(&r, "maxAttempts", |v| {
                    v.as_u64().map(|n| n.min(u32::MAX as u64) as u32)
                })?,
            },
            presence: PresenceConfig {
                heartbeat_interval_ms: json::optional(&p, "heartbeatIntervalMs", uint)?
                    .unwrap_or(dp.heartbeat_interval_ms),
                heartbeat_ack_timeout_ms: json::optional(&p, "heartbeatAckTimeoutMs", uint)?,
                max_missed_heartbeats: json::optional(&p, "maxMissedHeartbeats", |v| {
                    v.as_u64().map(|n| n.min(u32::MAX as u64) as u32)
                })?
                .unwrap_or(dp.max_missed_heartbeats),
                throttle_ms: json::optional(&p, "throttleMs", uint)?.unwrap_or(dp.throttle_ms),
            },
            connect_timeout_ms: json::optional(v, "connectTimeoutMs", uint)?
                .unwrap_or(d.connect_timeout_ms),
            request_timeout_ms: json::optional(v, "requestTimeoutMs", uint)?
                .unwrap_or(d.request_timeout_ms),
        })
    }
}

impl PresenceConfig {
    /// The heartbeat ack timeout in force.
    pub fn ack_timeout_ms(&self) -> u64 {
        self.heartbeat_ack_timeout_ms
            .unwrap_or_else(|| (self.heartbeat_interval_ms * 4 / 5).max(1_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_timeout_defaults_to_80_percent_but_at_least_a_second() {
        let p = PresenceConfig::default();
        assert_eq!(p.ack_timeout_ms(), 8_000);
        let fast = PresenceConfig {
            heartbeat_interval_ms: 500,
            ..p
        };
        assert_eq!(fast.ack_timeout_ms(), 1_000);
        let set = PresenceConfig {
            heartbeat_ack_timeout_ms: Some(300),
            ..p
        };
        assert_eq!(set.ack_timeout_ms(), 300);
    }

    #[test]
    fn options_parse_from_camel_case_json_with_defaults() {
        let c = ClientConfig::from_json(&serde_json::json!(
            {"baseUrl":"http://h:1","reconnection":{"maxAttempts":3},"presence":{"heartbeatIntervalMs":2000,"throttleMs":50}}
        ))
        .unwrap();
        assert_eq!(c.base_url, "http://h:1");
        assert_eq!(c.reconnection.max_attempts, Some(3));
        assert_eq!(c.reconnection.initial_delay_ms, 500);
        assert_eq!(c.presence.heartbeat_interval_ms, 2000);
        assert_eq!(c.presence.max_missed_heartbeats, 2);
        assert_eq!(c.presence.throttle_ms, 50);
        let err = ClientConfig::from_json(
            &serde_json::json!({"presence": {"heartbeatIntervalMs": "fast"}}),
        );
        assert_eq!(err.unwrap_err(), "heartbeatIntervalMs has the wrong type");
    }
}
