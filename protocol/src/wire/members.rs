//! `presence:members`: the next page of a room's snapshot.

use rtm_json as json;
use serde_json::Value;

use super::entry::{PresenceEntry, snapshot_from_json, snapshot_json};
use crate::fields;

/// The `presence:members` request: `{roomId, cursor, limit?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct MembersPayload {
    /// The room.
    pub room_id: String,
    /// Where the page starts: the `cursor` of the answer before.
    pub cursor: String,
    /// At most this many entries (the server's page size when absent; larger is clamped).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub limit: Option<u32>,
}

/// A page of a room's snapshot: the answer to `presence:members` (after `ok: true`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MembersResponse {
    /// The page's connections, in `connId` order.
    pub snapshot: Vec<PresenceEntry>,
    /// How many connections the room has.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub total: Option<u64>,
    /// Where the next page starts; `None` on the last page.
    #[cfg_attr(feature = "serde", serde(default))]
    pub cursor: Option<String>,
}

impl MembersPayload {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// As the protocol's JSON object, moving its fields there.
    #[inline]
    pub fn into_json(self) -> Value {
        let object = json::object([
            (fields::ROOM_ID, self.room_id.into()),
            (fields::CURSOR, self.cursor.into()),
        ]);
        json::with_field(object, fields::LIMIT, self.limit.map(Value::from))
    }
}

impl MembersResponse {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        let object = json::object([
            (fields::SNAPSHOT, snapshot_json(&self.snapshot)),
            (
                fields::CURSOR,
                self.cursor.clone().map_or(Value::Null, Value::from),
            ),
        ]);
        json::with_field(object, fields::TOTAL, self.total.map(Value::from))
    }

    /// Reads a `presence:members` ack.
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            snapshot: snapshot_from_json(v.get(fields::SNAPSHOT)?)?,
            total: json::uint(v, fields::TOTAL),
            cursor: json::string(v, fields::CURSOR),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_request_and_its_answer_round_trip() {
        let ask = MembersPayload {
            room_id: "r".into(),
            cursor: "c1".into(),
            limit: None,
        };
        assert_eq!(ask.to_json(), json!({"roomId": "r", "cursor": "c1"}));
        let entry = json!({"connId": "c2", "userId": "u", "state": {}, "lastSeenMs": 5, "epoch": 7, "rev": 0});
        let last = json!({"snapshot": [entry], "total": 2, "cursor": null});
        let read = MembersResponse::from_json(&last).unwrap();
        assert_eq!((read.snapshot.len(), read.cursor.as_deref()), (1, None));
        assert_eq!(read.to_json(), last);
    }
}
