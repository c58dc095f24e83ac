//! `presence:sync`: a room's snapshot, sent after a node lost its subscription to the room.

use rtm_json as json;
use serde_json::Value;

use super::entry::{PresenceEntry, snapshot_from_json, snapshot_json};
use crate::fields;

/// A `presence:sync`: `{roomId, snapshot, total?, cursor?}`, paged as a join's answer.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct PresenceSync {
    /// The room.
    pub room_id: String,
    /// Its connections (the first page when `cursor` is set).
    pub snapshot: Vec<PresenceEntry>,
    /// How many connections it has.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub total: Option<u64>,
    /// Where `presence:members` goes on; `None` when the snapshot is complete.
    #[cfg_attr(feature = "serde", serde(default))]
    pub cursor: Option<String>,
}

impl PresenceSync {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        let object = json::object([
            (fields::ROOM_ID, self.room_id.clone().into()),
            (fields::SNAPSHOT, snapshot_json(&self.snapshot)),
            (
                fields::CURSOR,
                self.cursor.clone().map_or(Value::Null, Value::from),
            ),
        ]);
        json::with_field(object, fields::TOTAL, self.total.map(Value::from))
    }

    /// Reads a `presence:sync`.
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            room_id: json::string(v, fields::ROOM_ID)?,
            snapshot: snapshot_from_json(v.get(fields::SNAPSHOT)?)?,
            total: json::uint(v, fields::TOTAL),
            cursor: json::string(v, fields::CURSOR),
        })
    }
}
