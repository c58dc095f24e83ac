//! `presence:count`: a room's number of connections, for its `"count"` members.

use rtm_json as json;
use serde_json::Value;

use crate::fields;

/// A `presence:count`: `{roomId, count}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct PresenceCount {
    /// The room.
    pub room_id: String,
    /// How many connections it has.
    pub count: u64,
}

impl PresenceCount {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            (fields::ROOM_ID, self.room_id.clone().into()),
            (fields::COUNT, self.count.into()),
        ])
    }

    /// Reads a `presence:count`.
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            room_id: json::string(v, fields::ROOM_ID)?,
            count: json::uint(v, fields::COUNT)?,
        })
    }
}
