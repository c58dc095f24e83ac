//! The `presence:event` announcement as the in-memory store publishes it (the Redis scripts
//! build the same JSON in Lua).

use rtm_protocol::events;
use rtm_protocol::wire::PresenceEvent;

use crate::bus::BusMessage;

/// The bus message announcing `event` to its room.
pub(crate) fn announcement(event: &PresenceEvent) -> BusMessage {
    BusMessage {
        room: event.room_id.clone(),
        event: events::PRESENCE_EVENT.to_string(),
        data: event.to_json(),
    }
}
