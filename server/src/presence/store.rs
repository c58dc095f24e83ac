//! What a presence store does, whatever holds the data. Every operation is atomic and publishes
//! its own `presence:event` on the bus, so the write and the announcement cannot be split.

use async_trait::async_trait;
use serde_json::{Map, Value};

/// One connection in a room, as snapshots list it (the store always sets its `rev`).
pub use rtm_protocol::wire::PresenceEntry;

/// A join, as the store takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest<'a> {
    /// The connection id the entry gets unless it resumes one.
    pub conn: &'a str,
    /// The user it joins as.
    pub user: &'a str,
    /// Its state.
    pub state: Map<String, Value>,
    /// The new entry's resume token (a fresh secret).
    pub token: &'a str,
    /// The entry to take over, if its token and user match: `(connId, resumeToken)`.
    pub resume: Option<(&'a str, &'a str)>,
    /// How many entries the outcome's first page lists (0 for a `"count"` member).
    pub page: usize,
}

/// A heartbeat, as the store takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatRequest<'a> {
    /// The connection's entry.
    pub conn: &'a str,
    /// The epoch the client holds: only the entry's current one refreshes it.
    pub epoch: u64,
    /// A shallow patch of the entry's state.
    pub patch: Option<Map<String, Value>>,
    /// The client's view's digest: the outcome carries the snapshot's first page when the
    /// room's (before the patch) differs.
    pub digest: Option<u32>,
    /// How many entries that page lists.
    pub page: usize,
}

/// A page of a room's snapshot: entries in `connId` order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The page's entries.
    pub entries: Vec<PresenceEntry>,
    /// How many connections the room has.
    pub total: u64,
    /// The last entry's `connId` when more follow (where the next page starts), else `None`.
    pub cursor: Option<String>,
}

/// The answer to a join.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinOutcome {
    /// The entry's connection id: the joiner's own, or the resumed entry's.
    pub conn: String,
    /// The joiner's new epoch.
    pub epoch: u64,
    /// Whether it took over the entry named in `resume`.
    pub resumed: bool,
    /// The room's first page, the joiner included when it falls in it.
    pub page: Page,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq)]
pub enum HeartbeatOutcome {
    /// Refreshed; `changed` when the patch really changed the state (an update was announced).
    Refreshed {
        /// Whether the state changed.
        changed: bool,
        /// The connection's epoch.
        epoch: u64,
        /// The room's first page after the heartbeat, when the client's digest differed from
        /// the room's.
        snapshot: Option<Page>,
    },
    /// The connection is not joined to the room (never joined, left, or expired).
    NotJoined,
    /// The epoch is not the connection's current one; nothing was refreshed or changed.
    StaleEpoch,
}

/// A store failure (not a refusal: those are outcomes).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis answered something this server did not write.
    #[error("unexpected data in the store: {0}")]
    Corrupt(String),
}

/// Presence storage: the in-memory store or Redis, with the same behaviour.
#[async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// Joins `room`: takes over the entry named by `request.resume` when it is there with that
    /// token and user (new epoch, rev continuing, state replaced: `update` announced only when it
    /// changed), else enters `request.conn` (a rejoin replaces its old entry) and announces `join`.
    /// Returns the entry's connection id, epoch, and the snapshot.
    async fn join(&self, room: &str, request: JoinRequest<'_>) -> Result<JoinOutcome, StoreError>;

    /// Refreshes `request.conn` if `request.epoch` is its current one, merges `request.patch`
    /// shallowly into its state and announces `update` when that changed it. With
    /// `request.digest`, the outcome carries the snapshot when the room's digest (before the
    /// patch) differs.
    async fn heartbeat(
        &self,
        room: &str,
        request: HeartbeatRequest<'_>,
    ) -> Result<HeartbeatOutcome, StoreError>;

    /// Removes `conn` from `room` and announces `leave`, if its epoch is `epoch` (any epoch when
    /// `None`); false when it was not there.
    async fn leave(&self, room: &str, conn: &str, epoch: Option<u64>) -> Result<bool, StoreError>;

    /// Keeps `conn`'s entry (if its epoch is `epoch`) for `grace` more without heartbeats, or
    /// until its TTL deadline when that is earlier: the reaper announces its leave then, unless a
    /// resume took it over. False when it was not there.
    async fn linger(
        &self,
        room: &str,
        conn: &str,
        epoch: u64,
        grace: std::time::Duration,
    ) -> Result<bool, StoreError>;

    /// Everyone in the room.
    async fn snapshot(&self, room: &str) -> Result<Vec<PresenceEntry>, StoreError>;

    /// Up to `limit` entries of the room whose `connId` sorts after `after` (from the first when
    /// `None`).
    async fn page(&self, room: &str, after: Option<&str>, limit: usize)
    -> Result<Page, StoreError>;

    /// How many connections the room has.
    async fn count(&self, room: &str) -> Result<u64, StoreError>;

    /// Up to `max` connections whose deadline has passed, as `(room, conn)`.
    async fn due(&self, max: usize) -> Result<Vec<(String, String)>, StoreError>;

    /// Removes `conn` from `room` if its deadline has passed (checked again: a heartbeat since
    /// keeps it) and announces its `leave`, once however many nodes try; true when it did.
    async fn expire(&self, room: &str, conn: &str) -> Result<bool, StoreError>;
}
