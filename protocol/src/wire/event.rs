//! `presence:event`: a connection joined, changed its state or left.

use rtm_json as json;
use serde_json::Value;

use super::entry::State;
use crate::fields;

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
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
    derive(serde::Serialize, serde::Deserialize),
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
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub rev: Option<u64>,
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
    #[inline]
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
