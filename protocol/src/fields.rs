//! The field names of the payloads, as they are spelled on the wire.

/// Every answer: `true` on success, `false` on a refusal.
pub const OK: &str = "ok";
/// A refusal's human-readable message.
pub const ERROR: &str = "error";
/// A refusal's machine-readable code (see [`ErrorCode`](super::ErrorCode)).
pub const CODE: &str = "code";

/// The room a request or an event is about.
pub const ROOM_ID: &str = "roomId";
/// The user a connection joined as.
pub const USER_ID: &str = "userId";
/// A connection's public id in a room (not a credential).
pub const CONN_ID: &str = "connId";
/// A connection's state object (`null` in a `leave` event).
pub const STATE: &str = "state";
/// A heartbeat's shallow patch of the state.
pub const PATCH_STATE: &str = "patchState";
/// The fencing token of a join.
pub const EPOCH: &str = "epoch";
/// How many times a connection's state changed within its epoch.
pub const REV: &str = "rev";
/// When the server last heard from a connection, ms since the Unix epoch.
pub const LAST_SEEN_MS: &str = "lastSeenMs";

/// A join answer's list of every connection in the room.
pub const SNAPSHOT: &str = "snapshot";
/// A join answer's `{connId, epoch}` of the joiner itself.
pub const SELF: &str = "self";
/// A heartbeat answer: whether the patch really changed the state.
pub const CHANGED: &str = "changed";

/// A presence event's kind: `join`, `update` or `leave`.
pub const TYPE: &str = "type";
/// Server time of an event or a message, ms since the Unix epoch.
pub const TS: &str = "ts";

/// A chat message's text.
pub const MESSAGE: &str = "message";
/// A chat message's id.
pub const MSG_ID: &str = "msgId";
/// A chat history answer's messages, oldest first.
pub const MESSAGES: &str = "messages";
/// How many messages a chat history request wants.
pub const LIMIT: &str = "limit";
/// A chat history request's last message seen: the answer starts after it.
pub const AFTER: &str = "after";
/// A chat history answer: the messages after `after` could not all be found.
pub const GAP: &str = "gap";

/// A storage key of a room.
pub const KEY: &str = "key";
/// A storage key's value (`null` when absent).
pub const VALUE: &str = "value";
/// A storage key's version: 0 when absent, +1 on every write.
pub const VERSION: &str = "version";
/// A storage write's condition: the version the key must have.
pub const IF_VERSION: &str = "ifVersion";
/// A whole room's storage: key → `{value, version}`.
pub const ENTRIES: &str = "entries";
/// A `conflict` refusal's `{value, version}` of the key as it is.
pub const CURRENT: &str = "current";
/// A storage delete's answer: whether there was a key to delete.
pub const DELETED: &str = "deleted";

/// A join's request to take over an earlier entry of the room (`{connId, resumeToken}`).
pub const RESUME: &str = "resume";
/// The secret that resumes a join's entry (in the join's `self`, and in `resume`).
pub const RESUME_TOKEN: &str = "resumeToken";
/// In a join's `self`: whether it took over the entry named in `resume`.
pub const RESUMED: &str = "resumed";
/// A room's digest: the sum of [`crate::digest::entry`] over its entries.
pub const DIGEST: &str = "digest";
/// Why the server sends `rtm:drain`.
pub const REASON: &str = "reason";

/// A join's presence level: `"events"` (the default) or `"count"`.
pub const PRESENCE: &str = "presence";
/// A join's wish for batched events (`presence:events`).
pub const BATCH: &str = "batch";
/// How many connections a room has (with a snapshot or a page).
pub const TOTAL: &str = "total";
/// Where the next snapshot page starts (`null` when the snapshot is complete).
pub const CURSOR: &str = "cursor";
/// A `presence:count`'s number of connections in the room.
pub const COUNT: &str = "count";
/// A `presence:events` batch's events, in order.
pub const EVENTS: &str = "events";
