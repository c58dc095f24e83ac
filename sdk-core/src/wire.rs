//! The presence protocol's payloads, as `docs/protocol.md` describes them.

use serde_json::{Map, Value};

use crate::json;

/// A state object: what a connection shares about itself.
pub type State = Map<String, Value>;

/// One connection in a room, as a snapshot lists it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub struct PresenceEntry {
    /// The connection's id.
    pub conn_id: String,
    /// The user it joined as.
    pub user_id: String,
    /// Its state.
    pub state: State,
    /// When the server last heard from it, ms since the Unix epoch.
    pub last_seen_ms: u64,
    /// The epoch of its join.
    pub epoch: u64,
    /// State changes since its join; `None` from servers that do not send it (the TypeScript
    /// server), whose events are then applied in arrival order.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub rev: Option<u64>,
}

/// The joiner's own identity in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub struct SelfInfo {
    /// Its connection id.
    pub conn_id: String,
    /// Its epoch: sent with each heartbeat.
    pub epoch: u64,
}

/// The answer to `presence:join`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct JoinResponse {
    /// Everyone in the room, the joiner included.
    pub snapshot: Vec<PresenceEntry>,
    /// The joiner.
    #[cfg_attr(feature = "serde", serde(rename = "self"))]
    pub self_info: SelfInfo,
}

/// The answer to `presence:heartbeat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HeartbeatResponse {
    /// Whether the patch changed the state.
    pub changed: bool,
    /// The connection's epoch.
    pub epoch: u64,
}

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
pub enum PresenceEventType {
    /// It joined.
    Join,
    /// Its state changed.
    Update,
    /// It left (or expired, or disconnected).
    Leave,
}

/// A `presence:event`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub struct PresenceEvent {
    /// What happened.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
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
    /// State changes since that join; `None` from servers that do not send it (the TypeScript
    /// server), whose events are then applied in arrival order.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub rev: Option<u64>,
}

/// An error ack: `{ok:false, error, code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAck {
    /// The human-readable message.
    pub error: String,
    /// The machine-readable code (`internal` when a server sent none).
    pub code: String,
}

impl PresenceEntry {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        with_rev(
            json::object([
                ("connId", self.conn_id.clone().into()),
                ("userId", self.user_id.clone().into()),
                ("state", Value::Object(self.state.clone())),
                ("lastSeenMs", self.last_seen_ms.into()),
                ("epoch", self.epoch.into()),
            ]),
            self.rev,
        )
    }

    /// Reads a snapshot entry.
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            conn_id: json::string(v, "connId")?,
            user_id: json::string(v, "userId")?,
            state: json::object_or_empty(v, "state")?,
            last_seen_ms: json::uint(v, "lastSeenMs").unwrap_or(0),
            epoch: json::uint(v, "epoch")?,
            rev: json::uint(v, "rev"),
        })
    }
}

impl SelfInfo {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            ("connId", self.conn_id.clone().into()),
            ("epoch", self.epoch.into()),
        ])
    }
}

impl JoinResponse {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            ("snapshot", snapshot_json(&self.snapshot)),
            ("self", self.self_info.to_json()),
        ])
    }

    /// Reads a join ack.
    pub fn from_json(v: &Value) -> Option<Self> {
        let snapshot = v
            .get("snapshot")?
            .as_array()?
            .iter()
            .map(PresenceEntry::from_json)
            .collect::<Option<Vec<_>>>()?;
        let me = v.get("self")?;
        Some(Self {
            snapshot,
            self_info: SelfInfo {
                conn_id: json::string(me, "connId")?,
                epoch: json::uint(me, "epoch")?,
            },
        })
    }
}

impl HeartbeatResponse {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            ("changed", self.changed.into()),
            ("epoch", self.epoch.into()),
        ])
    }

    /// Reads a heartbeat ack.
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            changed: v.get("changed").and_then(Value::as_bool).unwrap_or(false),
            epoch: json::uint(v, "epoch")?,
        })
    }
}

impl PresenceEventType {
    /// The protocol's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceEventType::Join => "join",
            PresenceEventType::Update => "update",
            PresenceEventType::Leave => "leave",
        }
    }
}

impl PresenceEvent {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        with_rev(
            json::object([
                ("type", self.kind.as_str().into()),
                ("roomId", self.room_id.clone().into()),
                ("userId", self.user_id.clone().into()),
                ("connId", self.conn_id.clone().into()),
                (
                    "state",
                    self.state.clone().map_or(Value::Null, Value::Object),
                ),
                ("ts", self.ts.into()),
                ("epoch", self.epoch.into()),
            ]),
            self.rev,
        )
    }

    /// Reads a `presence:event`.
    pub fn from_json(v: &Value) -> Option<Self> {
        let kind = match v.get("type")?.as_str()? {
            "join" => PresenceEventType::Join,
            "update" => PresenceEventType::Update,
            "leave" => PresenceEventType::Leave,
            _ => return None,
        };
        let state = match v.get("state") {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map.clone()),
            Some(_) => return None,
        };
        Some(Self {
            kind,
            room_id: json::string(v, "roomId")?,
            user_id: json::string(v, "userId")?,
            conn_id: json::string(v, "connId")?,
            state,
            ts: json::uint(v, "ts").unwrap_or(0),
            epoch: json::uint(v, "epoch")?,
            rev: json::uint(v, "rev"),
        })
    }
}

/// `object` with its `rev` field, when there is one.
fn with_rev(mut object: Value, rev: Option<u64>) -> Value {
    if let (Some(rev), Value::Object(fields)) = (rev, &mut object) {
        fields.insert("rev".into(), rev.into());
    }
    object
}

/// A snapshot as a JSON array.
pub fn snapshot_json(snapshot: &[PresenceEntry]) -> Value {
    Value::Array(snapshot.iter().map(PresenceEntry::to_json).collect())
}

/// Splits an ack into success (`ok` not false) and refusal.
pub fn ack_result(value: Value) -> Result<Value, ErrorAck> {
    if value.get("ok") == Some(&Value::Bool(false)) {
        Err(ErrorAck {
            error: json::string(&value, "error").unwrap_or_default(),
            code: json::string(&value, "code").unwrap_or_else(|| "internal".into()),
        })
    } else {
        Ok(value)
    }
}
