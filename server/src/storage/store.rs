//! Where room storage lives, as the memory and Redis stores implement it.

use async_trait::async_trait;
use rtm_protocol::wire::{StorageEntries, StorageEntry};

/// One write or delete, checked.
pub(crate) struct Write<'a> {
    /// The key.
    pub(crate) key: &'a str,
    /// The value as JSON text; `None` deletes the key.
    pub(crate) value: Option<&'a str>,
    /// Write only when the key's version is this (0: only when absent).
    pub(crate) if_version: Option<u64>,
    /// Who writes: the user, or `None` for the backend API or a module.
    pub(crate) writer: Option<&'a str>,
}

/// What a write did.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Written, and announced: the key's version now (0 after a delete).
    Written(u64),
    /// A delete of an absent key (with a matching or no `ifVersion`): nothing done or announced.
    Absent,
    /// `ifVersion` is not the key's version: nothing done; the key as it is.
    Conflict(StorageEntry),
    /// The key is new and the room holds as many keys as it may: nothing done.
    Full,
}

/// A store of room storage. A write and its `storage:changed` announcement are one step: no
/// other write of the room comes between them, so announcements follow the order of writes.
#[async_trait]
pub(crate) trait StorageStore: Send + Sync + 'static {
    /// `key`'s entry (`null`, 0 when absent).
    async fn get(&self, room: &str, key: &str) -> Result<StorageEntry, redis::RedisError>;

    /// Every entry of `room`, in key order, and its `rev`.
    async fn entries(&self, room: &str) -> Result<StorageEntries, redis::RedisError>;

    /// Writes or deletes, and announces what it did.
    async fn write(&self, room: &str, write: Write<'_>) -> Result<Outcome, redis::RedisError>;
}
