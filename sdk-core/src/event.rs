//! What the client tells the app: connection state changes, request completions, channel events.

use serde_json::Value;

use crate::error::Error;
use crate::wire::{
    HeartbeatResponse, JoinResponse, PresenceEntry, PresenceEvent, StorageChanged, StorageEntry,
};

/// Identifies a request (connect, join, update, leave, ack, storage) until it completes, exactly
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// The connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the first connection.
    Connecting,
    /// Connected.
    Connected,
    /// The connection was lost; waiting or trying to get it back.
    Reconnecting,
    /// Not connected, and not trying (never connected, disconnected, or gave up).
    Disconnected,
}

impl ConnectionState {
    /// The state's name: `connecting`, `connected`, `reconnecting`, `disconnected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Disconnected => "disconnected",
        }
    }
}

/// A change of connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The new state.
    pub state: ConnectionState,
    /// Why.
    pub reason: String,
    /// While reconnecting: the attempt about to be made (1 for the first).
    pub attempt: u32,
    /// While reconnecting: how long until that attempt, ms.
    pub retry_in_ms: Option<u64>,
}

/// What a successful request gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// `connect` succeeded.
    Connected,
    /// `join` succeeded.
    Joined(JoinResponse),
    /// `update_state` was acknowledged.
    Updated(HeartbeatResponse),
    /// `leave` finished (acknowledged, timed out, or disconnected: it never fails).
    Left,
    /// `emit_with_ack` got its answer.
    Ack(Value),
    /// `storage_set` wrote the key: its new version.
    StorageWritten {
        /// The key's version now.
        version: u64,
    },
    /// `storage_delete` was done.
    StorageDeleted {
        /// Whether the key existed (a delete of an absent key changes nothing).
        deleted: bool,
    },
    /// `storage_get` read the key from the server (`Null` and version 0 when absent).
    StorageRead(StorageEntry),
}

/// Something that happened on a channel (one room).
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelEvent {
    /// A presence event that changed the view (duplicates and stale events are not reported).
    Presence(PresenceEvent),
    /// A full snapshot replaced the view: after a join or rejoin, a `presence:sync`, or a
    /// heartbeat whose digest showed the view differed from the room. In a large room it is the
    /// snapshot's first page: [`ChannelEvent::Page`]s follow until the view is complete.
    Snapshot(Vec<PresenceEntry>),
    /// A later page of the room's snapshot (`presence:members`) merged into the view.
    Page {
        /// The page's connections the view took (not those it knew newer, or saw leave).
        entries: Vec<PresenceEntry>,
        /// It was the last page: the view now holds the whole room.
        complete: bool,
    },
    /// The room's number of connections changed, as the server counts it (a `"count"` member's:
    /// its join's `total`, then each `presence:count`).
    Count(u64),
    /// The first join succeeded.
    Connected,
    /// The connection was lost; the channel rejoins when it is back.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// The channel joined again (after a reconnect, or after `not_joined`/`stale_epoch`), with a
    /// fresh snapshot.
    Reconnected {
        /// The room as it is now.
        snapshot: Vec<PresenceEntry>,
    },
    /// A heartbeat was acknowledged.
    HeartbeatAck {
        /// Whether it changed the state.
        changed: bool,
        /// The epoch now in force.
        epoch: u64,
        /// The measured round trip, ms.
        rtt_ms: u64,
    },
    /// Something went wrong (missed heartbeats, a refused rejoin, ...).
    Error(Error),
    /// The room's storage view was (re)loaded (after a join, a rejoin or resume, a
    /// `presence:sync`): read it again whole ([`crate::Client::storage`]).
    StorageLoaded,
    /// A key of the room's storage was written, or deleted (`value` null, `version` 0), and the
    /// view holds the change.
    StorageChanged(StorageChanged),
    /// An event of the app's own (not presence) that the server sent.
    Custom {
        /// Its name.
        event: String,
        /// Its first argument.
        payload: Value,
    },
}

/// An event of the app's own that the server sent to this connection (from the backend API or a
/// module: to this user, to everyone, to a room), whichever rooms it is in.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ServerEvent {
    /// Its name.
    pub event: String,
    /// Its first argument.
    pub payload: Value,
}

/// An output of the client.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The server sent an event of the app's own (channels it concerns get it too, as
    /// [`ChannelEvent::Custom`]).
    Server(ServerEvent),
    /// The connection state changed.
    State(StateChange),
    /// A request completed, once.
    Completed {
        /// Which.
        id: RequestId,
        /// How.
        result: Result<Completion, Error>,
    },
    /// Something happened on the channel of `room`.
    Channel {
        /// The room.
        room: String,
        /// What.
        event: ChannelEvent,
    },
}

/// What the adapter must do with the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Get auth from the app's provider (if any), then open a WebSocket to `url`, and report with
    /// `transport_opened(id, ..)` / `transport_closed(id, ..)`; tag its frames with `id`.
    Open {
        /// The transport's id.
        id: u64,
        /// The WebSocket URL.
        url: String,
    },
    /// Send this text frame on transport `id`.
    Send {
        /// The transport's id.
        id: u64,
        /// The frame.
        frame: String,
    },
    /// Close transport `id` (and forget it: nothing it reports matters any more).
    Close {
        /// The transport's id.
        id: u64,
    },
}
