//! A snapshot's entry: one connection in a room.

use rtm_json as json;
use serde_json::{Map, Value};

use crate::fields;

/// A state object: what a connection shares about itself.
pub type State = Map<String, Value>;

/// One connection in a room, as a snapshot lists it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct PresenceEntry {
    /// The connection's id (public: not a credential).
    pub conn_id: String,
    /// The user it joined as.
    pub user_id: String,
    /// Its state.
    pub state: State,
    /// When the server last heard from it, ms since the Unix epoch.
    pub last_seen_ms: u64,
    /// The epoch of its join: the fencing token its heartbeats carry.
    pub epoch: u64,
    /// State changes since its join (orders updates within an epoch). The rtm server always
    /// sends it; `None` from servers that do not (the TypeScript server), whose events are then
    /// applied in arrival order.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub rev: Option<u64>,
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
    #[inline]
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

/// A snapshot as a JSON array.
pub fn snapshot_json(snapshot: &[PresenceEntry]) -> Value {
    Value::Array(snapshot.iter().map(PresenceEntry::to_json).collect())
}

/// Reads a snapshot: an array of entries, each of them valid.
pub fn snapshot_from_json(v: &Value) -> Option<Vec<PresenceEntry>> {
    v.as_array()?.iter().map(PresenceEntry::from_json).collect()
}
