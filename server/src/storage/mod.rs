//! Room storage: what a room *holds*, beside who is in it. Each room has up to
//! [`MAX_KEYS`](rtm_protocol::wire::MAX_KEYS) keys, each with a JSON value and its own version
//! (0 while absent, +1 on every write); a write may be conditional on the version it read
//! (compare-and-set). Every write and delete is announced to the room's members on every node as
//! `storage:changed`, in the same atomic step as the write, with the room's `rev` that orders them.
//!
//! [`Storage`] is the one entry: the `storage:*` requests of room members, the backend API's
//! routes and modules ([`ModuleContext::storage`](crate::ModuleContext::storage)) all call it, so
//! they share its checks. Where it lives is a [`store::StorageStore`]: this process
//! ([`memory`]) or Redis ([`redis`], one Lua script per write).

mod checks;
mod memory;
mod redis;
mod store;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtm_protocol::wire::{MAX_KEYS, StorageEntries, StorageEntry};
use serde_json::Value;

use crate::bus::Bus;
use crate::error::{AckError, ErrorCode, store_error};
use crate::redis::RedisConnection;
use store::{Outcome, StorageStore, Write};

/// Room storage on the server's store; cheap to clone.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn StorageStore>,
}

impl Storage {
    /// Storage in Redis when `redis` is given, else in this process (announcing on `bus`); a
    /// room's storage is forgotten `ttl` after its last write.
    pub(crate) fn new(redis: Option<&RedisConnection>, bus: Bus, ttl: Duration) -> Self {
        let ttl = ttl.max(Duration::from_millis(1));
        let store: Arc<dyn StorageStore> = match redis {
            Some(redis) => Arc::new(redis::RedisStorage::new(redis, ttl, MAX_KEYS)),
            None => Arc::new(memory::MemoryStorage::new(bus, ttl, MAX_KEYS)),
        };
        Self { store }
    }

    /// `key`'s value and version (`null` and 0 when absent).
    pub async fn get(&self, room: &str, key: &str) -> Result<StorageEntry, AckError> {
        checks::key(key)?;
        self.store
            .get(room, key)
            .await
            .map_err(|e| store_error("storage get", &e))
    }

    /// Every key of `room`, with the room's `rev`.
    pub async fn entries(&self, room: &str) -> Result<StorageEntries, AckError> {
        self.store
            .entries(room)
            .await
            .map_err(|e| store_error("storage entries", &e))
    }

    /// Writes `value` to `key` (only when its version is `if_version`, when given) and announces
    /// it as written by `writer` (`None`: the backend or a module); answers the key's new
    /// version. A version mismatch is `conflict` with the key's `current` value and version.
    pub async fn set(
        &self,
        room: &str,
        key: &str,
        value: &Value,
        if_version: Option<u64>,
        writer: Option<&str>,
    ) -> Result<u64, AckError> {
        checks::key(key)?;
        checks::if_version(if_version)?;
        let value = checks::value(value)?;
        let write = Write {
            key,
            value: Some(&value),
            if_version,
            writer,
        };
        match self.write(room, write).await? {
            Outcome::Written(version) => Ok(version),
            other => Err(refusal(other)),
        }
    }

    /// Deletes `key` (only when its version is `if_version`, when given) and announces it;
    /// answers whether there was a key to delete (nothing is announced when there was none).
    pub async fn delete(
        &self,
        room: &str,
        key: &str,
        if_version: Option<u64>,
        writer: Option<&str>,
    ) -> Result<bool, AckError> {
        checks::key(key)?;
        checks::if_version(if_version)?;
        let write = Write {
            key,
            value: None,
            if_version,
            writer,
        };
        match self.write(room, write).await? {
            Outcome::Written(_) => Ok(true),
            Outcome::Absent => Ok(false),
            other => Err(refusal(other)),
        }
    }

    async fn write(&self, room: &str, write: Write<'_>) -> Result<Outcome, AckError> {
        self.store
            .write(room, write)
            .await
            .map_err(|e| store_error("storage write", &e))
    }
}

/// The refusal of a write that did not happen.
fn refusal(outcome: Outcome) -> AckError {
    match outcome {
        Outcome::Conflict(current) => AckError::conflict(
            format!("ifVersion is not the key's version ({})", current.version),
            current.to_json(),
        ),
        Outcome::Full => AckError::new(
            ErrorCode::LimitExceeded,
            format!("a room holds at most {MAX_KEYS} keys: delete one first"),
        ),
        Outcome::Written(_) | Outcome::Absent => AckError::internal(),
    }
}

/// The smallest `rev` a write may take now: the clock in ms × 1024, so that a room's revisions
/// never go back, even after its storage expired and started again.
fn rev_floor() -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    ms.saturating_mul(1024)
}
