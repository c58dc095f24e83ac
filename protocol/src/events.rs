//! The Socket.IO event names: requests a client sends (each with an ack) and events the server
//! sends.

/// Client → server: join a room, or resume an entry (`{roomId, userId, state?, resume?}` →
/// `{ok, snapshot, self}`).
pub const PRESENCE_JOIN: &str = "presence:join";
/// Client → server: keep the connection's presence alive, maybe patching its state
/// (`{epoch, patchState?, roomId?, digest?}` → `{ok, changed, epoch, snapshot?}`).
pub const PRESENCE_HEARTBEAT: &str = "presence:heartbeat";
/// Client → server: leave a room (`{roomId?}` or nothing → `{ok}`).
pub const PRESENCE_LEAVE: &str = "presence:leave";
/// Server → room: a connection joined, changed its state or left.
pub const PRESENCE_EVENT: &str = "presence:event";
/// Server → the room's members on one node: the room's snapshot (`{roomId, snapshot, total,
/// cursor}`, paged as a join's),
/// after that node's subscription to the room was lost and restored; applied like a rejoin's.
pub const PRESENCE_SYNC: &str = "presence:sync";
/// Client → server: the next page of a room's snapshot (`{roomId, cursor, limit?}` →
/// `{ok, snapshot, total, cursor}`).
pub const PRESENCE_MEMBERS: &str = "presence:members";
/// Server → a `batch: true` member: a window's presence events of a room, in order
/// (`{roomId, events}`).
pub const PRESENCE_EVENTS: &str = "presence:events";
/// Server → a `"count"` member: the room's number of connections (`{roomId, count}`).
pub const PRESENCE_COUNT: &str = "presence:count";
/// Server → each of a node's connections: the node is shutting down; reconnect now (to another
/// node) and resume (`{reason}`).
pub const DRAIN: &str = "rtm:drain";
/// Client → server: write a key of the room's storage (`{roomId, key, value, ifVersion?}` →
/// `{ok, version}`, or a `conflict` refusal with `current`).
pub const STORAGE_SET: &str = "storage:set";
/// Client → server: read a key (`{roomId, key}` → `{ok, value, version}`) or the whole room's
/// storage (`{roomId}` → `{ok, entries, rev}`).
pub const STORAGE_GET: &str = "storage:get";
/// Client → server: delete a key (`{roomId, key, ifVersion?}` → `{ok, deleted}`).
pub const STORAGE_DELETE: &str = "storage:delete";
/// Server → room: a key was written or deleted (`{roomId, key, value, version, userId, rev}`).
pub const STORAGE_CHANGED: &str = "storage:changed";
/// Client → server: send a chat message (`{roomId, message}` → `{ok, msgId, ts}`).
pub const CHAT_SEND: &str = "chat:send";
/// Client → server: the room's last messages (`{roomId, limit?}` → `{ok, messages}`), or those
/// after one (`{roomId, after, limit?}` → `{ok, messages, gap}`).
pub const CHAT_HISTORY: &str = "chat:history";
/// Server → room: a chat message (`{msgId, roomId, userId, message, ts}`).
pub const CHAT_MESSAGE: &str = "chat:message";

#[cfg(test)]
mod tests {
    #[test]
    fn every_event_is_the_one_docs_protocol_md_documents() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
        let doc = std::fs::read_to_string(path).expect("docs/protocol.md");
        for event in [
            super::PRESENCE_JOIN,
            super::DRAIN,
            super::PRESENCE_HEARTBEAT,
            super::PRESENCE_LEAVE,
            super::PRESENCE_EVENT,
            super::PRESENCE_SYNC,
            super::PRESENCE_MEMBERS,
            super::PRESENCE_EVENTS,
            super::PRESENCE_COUNT,
            super::STORAGE_SET,
            super::STORAGE_GET,
            super::STORAGE_DELETE,
            super::STORAGE_CHANGED,
            super::CHAT_SEND,
            super::CHAT_HISTORY,
            super::CHAT_MESSAGE,
        ] {
            assert!(
                doc.contains(&format!("`{event}")),
                "{event} is not documented"
            );
        }
    }
}
