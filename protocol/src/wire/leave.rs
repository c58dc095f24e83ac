//! `presence:leave`: the request (its answer is just `{ok:true}`).

use rtm_json as json;
use serde_json::{Map, Value};

use crate::fields;

/// The `presence:leave` request: `{roomId?}` (or no payload: the connection's only room).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct LeavePayload {
    /// The room to leave.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub room_id: Option<String>,
}

impl LeavePayload {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// As the protocol's JSON object, moving its fields there.
    #[inline]
    pub fn into_json(self) -> Value {
        match self.room_id {
            Some(room) => json::object([(fields::ROOM_ID, room.into())]),
            None => Value::Object(Map::new()),
        }
    }
}
