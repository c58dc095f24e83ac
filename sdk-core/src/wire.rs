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
    /// The secret that resumes this entry from a later connection (the client sends it back by
    /// itself on every rejoin; never shown to other members). `None` from servers without
    /// resume (the TypeScript server).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub resume_token: Option<String>,
    /// Whether this join took over the client's earlier entry (`false` from servers without
    /// resume).
    pub resumed: bool,
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
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HeartbeatResponse {
    /// Whether the patch changed the state.
    pub changed: bool,
    /// The connection's epoch.
    pub epoch: u64,
    /// The room after the patch, when the heartbeat's digest differed from the room's. The
    /// client moves it into the channel's view, so an `update_state` completes with `None`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub snapshot: Option<Vec<PresenceEntry>>,
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
        let object = json::object([
            (fields::CONN_ID, self.conn_id.clone().into()),
            (fields::USER_ID, self.user_id.clone().into()),
            (fields::STATE, Value::Object(self.state.clone())),
            (fields::LAST_SEEN_MS, self.last_seen_ms.into()),
            (fields::EPOCH, self.epoch.into()),
        ]);
        json::with_field(object, fields::REV, self.rev.map(Value::from))
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
        let object = json::object([
            (fields::CONN_ID, self.conn_id.clone().into()),
            (fields::EPOCH, self.epoch.into()),
            (fields::RESUMED, self.resumed.into()),
        ]);
        let token = self.resume_token.clone().map(Value::from);
        json::with_field(object, fields::RESUME_TOKEN, token)
    }

    /// Reads a join answer's `self`.
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            conn_id: json::string(v, fields::CONN_ID)?,
            epoch: json::uint(v, fields::EPOCH)?,
            resume_token: json::string(v, fields::RESUME_TOKEN),
            resumed: json::flag(v, fields::RESUMED),
        })
    }

    /// A join's `resume`: `{connId, resumeToken}`, when this join gave a token.
    pub(crate) fn resume_json(&self) -> Option<Value> {
        let token = self.resume_token.clone()?;
        Some(json::object([
            (fields::CONN_ID, self.conn_id.clone().into()),
            (fields::RESUME_TOKEN, token.into()),
        ]))
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
        Some(Self {
            snapshot: snapshot_from_json(v.get(fields::SNAPSHOT)?)?,
            self_info: SelfInfo::from_json(v.get(fields::SELF)?)?,
        })
    }
}

impl HeartbeatResponse {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        let object = json::object([
            (fields::CHANGED, self.changed.into()),
            (fields::EPOCH, self.epoch.into()),
        ]);
        let snapshot = self.snapshot.as_deref().map(snapshot_json);
        json::with_field(object, fields::SNAPSHOT, snapshot)
    }

    /// Reads a heartbeat ack (a `snapshot` that is not a valid one makes it unreadable).
    pub fn from_json(v: &Value) -> Option<Self> {
        let snapshot = match v.get(fields::SNAPSHOT) {
            None | Some(Value::Null) => None,
            Some(snapshot) => Some(snapshot_from_json(snapshot)?),
        };
        Some(Self {
            changed: json::flag(v, fields::CHANGED),
            epoch: json::uint(v, fields::EPOCH)?,
            snapshot,
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
        let object = json::object([
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
        ]);
        json::with_field(object, fields::REV, self.rev.map(Value::from))
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

/// A snapshot as a JSON array.
pub fn snapshot_json(snapshot: &[PresenceEntry]) -> Value {
    Value::Array(snapshot.iter().map(PresenceEntry::to_json).collect())
}

/// Reads a snapshot: an array of entries, each of them valid.
pub(crate) fn snapshot_from_json(v: &Value) -> Option<Vec<PresenceEntry>> {
    v.as_array()?.iter().map(PresenceEntry::from_json).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn self_reads_the_resume_fields_and_writes_them_back() {
        let rtm = json!({"connId": "c1", "epoch": 7, "resumeToken": "t1", "resumed": true});
        let me = SelfInfo::from_json(&rtm).unwrap();
        assert_eq!((me.resume_token.as_deref(), me.resumed), (Some("t1"), true));
        assert_eq!(me.to_json(), rtm);
        assert_eq!(
            me.resume_json(),
            Some(json!({"connId": "c1", "resumeToken": "t1"}))
        );
        // The TypeScript server's: nothing to resume with.
        let typescript = SelfInfo::from_json(&json!({"connId": "c1", "epoch": 7})).unwrap();
        assert_eq!(
            (&typescript.resume_token, typescript.resumed),
            (&None, false)
        );
        assert_eq!(
            SelfInfo::from_json(&typescript.to_json())
                .unwrap()
                .resume_json(),
            None
        );
    }

    #[test]
    fn a_heartbeat_answer_reads_its_snapshot_when_there_is_one() {
        let entry = json!({"connId": "c1", "userId": "u", "state": {}, "lastSeenMs": 5, "epoch": 7, "rev": 1});
        let answer = json!({"changed": true, "epoch": 7, "snapshot": [entry]});
        let read = HeartbeatResponse::from_json(&answer).unwrap();
        assert_eq!(read.snapshot.as_ref().map(Vec::len), Some(1));
        assert_eq!(read.to_json(), answer);
        let plain = HeartbeatResponse::from_json(&json!({"changed": false, "epoch": 7})).unwrap();
        assert_eq!(plain.snapshot, None);
        assert_eq!(plain.to_json(), json!({"changed": false, "epoch": 7}));
        for bad in [json!(7), json!([{"connId": "c1"}])] {
            let answer = json!({"changed": false, "epoch": 7, "snapshot": bad});
            assert_eq!(HeartbeatResponse::from_json(&answer), None, "{answer}");
        }
    }
}
