//! `presence:heartbeat`: the request (epoch, patch, digest) and its answer.

use rtm_json as json;
use serde_json::Value;

use super::entry::{PresenceEntry, State, snapshot_from_json, snapshot_json};
use crate::fields;

/// The `presence:heartbeat` request: `{roomId?, epoch, patchState?, digest?}`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct HeartbeatPayload {
    /// The room (optional when the connection is in one room only).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub room_id: Option<String>,
    /// The epoch of the connection's join: a heartbeat of an older join is refused.
    pub epoch: u64,
    /// A shallow patch of the connection's state.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub patch_state: Option<State>,
    /// The digest of the client's view: the answer carries the snapshot when the room's differs.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub digest: Option<u32>,
}

/// The answer to `presence:heartbeat` (after `ok: true`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HeartbeatResponse {
    /// Whether the patch changed the state.
    pub changed: bool,
    /// The connection's epoch.
    pub epoch: u64,
    /// The room after the patch, when the heartbeat's digest differed from the room's. The
    /// client moves it into the channel's view, so an `update_state` completes with `None`.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub snapshot: Option<Vec<PresenceEntry>>,
    /// With a snapshot: how many connections the room has.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub total: Option<u64>,
    /// With a snapshot that is a first page: where `presence:members` goes on.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub cursor: Option<String>,
}

impl HeartbeatPayload {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// As the protocol's JSON object, moving its fields there (what a client that builds the
    /// request to send it does: no copy of its patch).
    #[inline]
    pub fn into_json(self) -> Value {
        let object = json::object([(fields::EPOCH, self.epoch.into())]);
        let room = self.room_id.map(Value::from);
        let object = json::with_field(object, fields::ROOM_ID, room);
        let patch = self.patch_state.map(Value::Object);
        let object = json::with_field(object, fields::PATCH_STATE, patch);
        json::with_field(object, fields::DIGEST, self.digest.map(Value::from))
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
        let object = json::with_field(object, fields::SNAPSHOT, snapshot);
        let object = json::with_field(object, fields::TOTAL, self.total.map(Value::from));
        json::with_field(object, fields::CURSOR, self.cursor.clone().map(Value::from))
    }

    /// Reads a heartbeat ack (a `snapshot` that is not a valid one makes it unreadable).
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        let snapshot = match v.get(fields::SNAPSHOT) {
            None | Some(Value::Null) => None,
            Some(snapshot) => Some(snapshot_from_json(snapshot)?),
        };
        Some(Self {
            changed: json::flag(v, fields::CHANGED),
            epoch: json::uint(v, fields::EPOCH)?,
            snapshot,
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

    #[test]
    fn a_heartbeat_writes_only_what_it_has() {
        let mut beat = HeartbeatPayload {
            room_id: Some("r".into()),
            epoch: 3,
            patch_state: None,
            digest: None,
        };
        assert_eq!(beat.to_json(), json!({"roomId": "r", "epoch": 3}));
        beat.patch_state = Some(State::from_iter([("a".to_string(), json!(1))]));
        beat.digest = Some(9);
        assert_eq!(
            beat.to_json(),
            json!({"roomId": "r", "epoch": 3, "patchState": {"a": 1}, "digest": 9})
        );
    }
}
