//! The presence protocol's payloads, as `docs/protocol.md` describes them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A state object: what a connection shares about itself.
pub type State = Map<String, Value>;

/// One connection in a room, as a snapshot lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// The connection's id.
    pub conn_id: String,
    /// The user it joined as.
    pub user_id: String,
    /// Its state.
    #[serde(default)]
    pub state: State,
    /// When the server last heard from it, ms since the Unix epoch.
    #[serde(default)]
    pub last_seen_ms: u64,
    /// The epoch of its join.
    pub epoch: u64,
    /// State changes since its join (0 from servers that do not send it).
    #[serde(default)]
    pub rev: u64,
}

/// The joiner's own identity in a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfInfo {
    /// Its connection id.
    pub conn_id: String,
    /// Its epoch: sent with each heartbeat.
    pub epoch: u64,
}

/// The answer to `presence:join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinResponse {
    /// Everyone in the room, the joiner included.
    pub snapshot: Vec<PresenceEntry>,
    /// The joiner.
    #[serde(rename = "self")]
    pub self_info: SelfInfo,
}

/// The answer to `presence:heartbeat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// Whether the patch changed the state.
    #[serde(default)]
    pub changed: bool,
    /// The connection's epoch.
    pub epoch: u64,
}

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceEventType {
    /// It joined.
    Join,
    /// Its state changed.
    Update,
    /// It left (or expired, or disconnected).
    Leave,
}

/// A `presence:event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: PresenceEventType,
    /// The room.
    pub room_id: String,
    /// The user.
    pub user_id: String,
    /// The connection.
    pub conn_id: String,
    /// Its state after the change (`None` on leave).
    pub state: Option<State>,
    /// Server time of the change, ms since the Unix epoch.
    pub ts: u64,
    /// The epoch of the connection's join.
    pub epoch: u64,
    /// State changes since that join (0 from servers that do not send it).
    #[serde(default)]
    pub rev: u64,
}

/// An error ack: `{ok:false, error, code}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorAck {
    /// The human-readable message.
    #[serde(default)]
    pub error: String,
    /// The machine-readable code (`internal` when a server sent none).
    #[serde(default = "unknown_code")]
    pub code: String,
}

fn unknown_code() -> String {
    "internal".into()
}

/// Splits an ack into success (`ok` not false) and refusal.
pub fn ack_result(value: Value) -> Result<Value, ErrorAck> {
    if value.get("ok") == Some(&Value::Bool(false)) {
        Err(serde_json::from_value(value).unwrap_or_else(|_| ErrorAck {
            error: "malformed error ack".into(),
            code: unknown_code(),
        }))
    } else {
        Ok(value)
    }
}
