//! The `presence:event` payload, as the in-memory store builds it (the Redis scripts build the
//! same JSON in Lua).

use rtm_protocol::wire::PresenceEventType;
use rtm_protocol::{events, fields};
use serde_json::{Map, Value, json};

use crate::bus::BusMessage;

/// The bus message announcing a `join`, `update` or `leave` (`state` is null on leave).
#[allow(clippy::too_many_arguments)]
pub(crate) fn presence_event(
    kind: PresenceEventType,
    room: &str,
    conn: &str,
    user: &str,
    state: Option<&Map<String, Value>>,
    ts: u64,
    epoch: u64,
    rev: u64,
) -> BusMessage {
    BusMessage {
        room: room.to_string(),
        event: EVENT.to_string(),
        data: json!({
            fields::TYPE: kind.as_str(),
            fields::ROOM_ID: room,
            fields::USER_ID: user,
            fields::CONN_ID: conn,
            fields::STATE: state,
            fields::TS: ts,
            fields::EPOCH: epoch,
            fields::REV: rev,
        }),
    }
}

/// The event name presence announces on.
pub const EVENT: &str = events::PRESENCE_EVENT;
