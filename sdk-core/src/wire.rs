//! The presence protocol's payloads, as `docs/protocol.md` describes them.

use serde_json::{Map, Value};

use crate::json;
use crate::protocol::{ErrorCode, fields};

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
    /// The machine-readable code (`internal` when a server sent none); a code outside the
    /// closed set (a newer server's) is kept as it is.
    pub code: String,
}

impl PresenceEntry {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        with_rev(
            json::object([
                (fields::CONN_ID, self.conn_id.clone().into()),
                (fields::USER_ID, self.user_id.clone().into()),
                (fields::STATE, Value::Object(self.state.clone())),
                (fields::LAST_SEEN_MS, self.last_seen_ms.into()),
                (fields::EPOCH, self.epoch.into()),
            ]),
            self.rev,
        )
    }

    /// Reads a snapshot entry.
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            conn_id: json::string(v, fields::CONN_ID)?,
            user_id: json::string(v, fields::USER_ID)?,
            state: json::object_or_empty(v, fields::STATE)?,
            last_seen_ms: json::uint(v, fields::LAST_SEEN_MS).unwrap_or(0),
            epoch: json::uint(v, fields::EPOCH)?,
            rev: json::uint(v, fields::REV),
        })
    }
}

impl SelfInfo {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            (fields::CONN_ID, self.conn_id.clone().into()),
            (fields::EPOCH, self.epoch.into()),
        ])
    }
}

impl JoinResponse {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            (fields::SNAPSHOT, snapshot_json(&self.snapshot)),
            (fields::SELF, self.self_info.to_json()),
        ])
    }

    /// Reads a join ack.
    pub fn from_json(v: &Value) -> Option<Self> {
        let snapshot = v
            .get(fields::SNAPSHOT)?
            .as_array()?
            .iter()
            .map(PresenceEntry::from_json)
            .collect::<Option<Vec<_>>>()?;
        let me = v.get(fields::SELF)?;
        Some(Self {
            snapshot,
            self_info: SelfInfo {
                conn_id: json::string(me, fields::CONN_ID)?,
                epoch: json::uint(me, fields::EPOCH)?,
            },
        })
    }
}

impl HeartbeatResponse {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            (fields::CHANGED, self.changed.into()),
            (fields::EPOCH, self.epoch.into()),
        ])
    }

    /// Reads a heartbeat ack.
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            changed: v
                .get(fields::CHANGED)
                .and_then(Value::as_bool)
                .unwrap_or(false),
            epoch: json::uint(v, fields::EPOCH)?,
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

    /// The kind the protocol names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "join" => Some(Self::Join),
            "update" => Some(Self::Update),
            "leave" => Some(Self::Leave),
            _ => None,
        }
    }
}

impl PresenceEvent {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        with_rev(
            json::object([
                (fields::TYPE, self.kind.as_str().into()),
                (fields::ROOM_ID, self.room_id.clone().into()),
                (fields::USER_ID, self.user_id.clone().into()),
                (fields::CONN_ID, self.conn_id.clone().into()),
                (
                    fields::STATE,
                    self.state.clone().map_or(Value::Null, Value::Object),
                ),
                (fields::TS, self.ts.into()),
                (fields::EPOCH, self.epoch.into()),
            ]),
            self.rev,
        )
    }

    /// Reads a `presence:event`.
    pub fn from_json(v: &Value) -> Option<Self> {
        let kind = PresenceEventType::parse(v.get(fields::TYPE)?.as_str()?)?;
        let state = match v.get(fields::STATE) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map.clone()),
            Some(_) => return None,
        };
        Some(Self {
            kind,
            room_id: json::string(v, fields::ROOM_ID)?,
            user_id: json::string(v, fields::USER_ID)?,
            conn_id: json::string(v, fields::CONN_ID)?,
            state,
            ts: json::uint(v, fields::TS).unwrap_or(0),
            epoch: json::uint(v, fields::EPOCH)?,
            rev: json::uint(v, fields::REV),
        })
    }
}

/// `object` with its `rev` field, when there is one.
fn with_rev(mut object: Value, rev: Option<u64>) -> Value {
    if let (Some(rev), Value::Object(map)) = (rev, &mut object) {
        map.insert(fields::REV.into(), rev.into());
    }
    object
}

/// A snapshot as a JSON array.
pub fn snapshot_json(snapshot: &[PresenceEntry]) -> Value {
    Value::Array(snapshot.iter().map(PresenceEntry::to_json).collect())
}

/// Splits an ack into success (`ok` not false) and refusal.
pub fn ack_result(value: Value) -> Result<Value, ErrorAck> {
    if value.get(fields::OK) == Some(&Value::Bool(false)) {
        Err(ErrorAck {
            error: json::string(&value, fields::ERROR).unwrap_or_default(),
            code: json::string(&value, fields::CODE)
                .unwrap_or_else(|| ErrorCode::Internal.as_str().into()),
        })
    } else {
        Ok(value)
    }
}
