//! What a presence store does, whatever holds the data. Every operation is atomic and publishes
//! its own `presence:event` on the bus, so the write and the announcement cannot be split.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One connection in a room, as snapshots list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// The connection (the Socket.IO socket id).
    pub conn_id: String,
    /// The user it joined as.
    pub user_id: String,
    /// Its current state.
    pub state: Map<String, Value>,
    /// When it last joined or heartbeated (ms since the Unix epoch).
    pub last_seen_ms: u64,
    /// Its epoch: the fencing token of this join.
    pub epoch: u64,
    /// How many times its state changed since it joined (orders updates within an epoch).
    pub rev: u64,
}

/// The answer to a join.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JoinOutcome {
    /// The joiner's new epoch.
    pub epoch: u64,
    /// Everyone in the room, the joiner included.
    pub snapshot: Vec<PresenceEntry>,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatOutcome {
    /// Refreshed; `changed` when the patch really changed the state (an update was announced).
    Refreshed {
        /// Whether the state changed.
        changed: bool,
        /// The connection's epoch.
        epoch: u64,
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
    /// Joins `conn` to `room` as `user` with `state` (a rejoin replaces the old entry and gets a
    /// new epoch), announces `join`, and returns the epoch and the snapshot.
    async fn join(
        &self,
        room: &str,
        conn: &str,
        user: &str,
        state: Map<String, Value>,
    ) -> Result<JoinOutcome, StoreError>;

    /// Refreshes `conn` if `epoch` is its current one, merges `patch` shallowly into its state and
    /// announces `update` when that changed it.
    async fn heartbeat(
        &self,
        room: &str,
        conn: &str,
        epoch: u64,
        patch: Option<Map<String, Value>>,
    ) -> Result<HeartbeatOutcome, StoreError>;

    /// Removes `conn` from `room` and announces `leave`; false when it was not joined.
    async fn leave(&self, room: &str, conn: &str) -> Result<bool, StoreError>;

    /// Everyone in the room.
    async fn snapshot(&self, room: &str) -> Result<Vec<PresenceEntry>, StoreError>;

    /// Removes up to `max` connections whose TTL ran out, announcing each `leave` once; returns
    /// how many it removed.
    async fn reap(&self, max: usize) -> Result<usize, StoreError>;
}
