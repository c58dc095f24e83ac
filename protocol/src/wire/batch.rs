//! `presence:events`: a window's presence events of a room, in one frame.

use rtm_json as json;
use serde_json::Value;

use super::event::PresenceEvent;
use crate::fields;

/// A `presence:events` batch: `{roomId, events}`, the events in the order they happened.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct PresenceEvents {
    /// The room.
    pub room_id: String,
    /// Its events, oldest first.
    pub events: Vec<PresenceEvent>,
}

impl PresenceEvents {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        let events = self.events.iter().map(PresenceEvent::to_json).collect();
        json::object([
            (fields::ROOM_ID, self.room_id.clone().into()),
            (fields::EVENTS, Value::Array(events)),
        ])
    }

    /// Reads a `presence:events` (any unreadable event makes it unreadable).
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        let events = v.get(fields::EVENTS)?.as_array()?;
        Some(Self {
            room_id: json::string(v, fields::ROOM_ID)?,
            events: events
                .iter()
                .map(PresenceEvent::from_json)
                .collect::<Option<_>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_keeps_its_order_and_refuses_a_bad_event() {
        let join = json!({"type": "join", "roomId": "r", "userId": "u", "connId": "c", "state": {}, "ts": 1, "epoch": 5, "rev": 0});
        let leave = json!({"type": "leave", "roomId": "r", "userId": "u", "connId": "c", "state": null, "ts": 2, "epoch": 5, "rev": 0});
        let batch = json!({"roomId": "r", "events": [join, leave]});
        let read = PresenceEvents::from_json(&batch).unwrap();
        assert_eq!(read.events.len(), 2);
        assert_eq!(read.to_json(), batch);
        let bad = json!({"roomId": "r", "events": [join, {"type": "nope"}]});
        assert_eq!(PresenceEvents::from_json(&bad), None);
    }
}
