//! [`RoomStorage`]: a joined room's storage, reached from its channel.

use std::time::Duration;

use rtm_sdk_core::storage::Update;
use rtm_sdk_core::{Error, StorageEntry};
use serde_json::Value;

use crate::client::{RealtimeClient, seed};
use crate::driver::ChannelShared;

/// A joined room's storage (`docs/protocol.md`, "Room storage"): up to 256 keys, each a JSON
/// value with its own version (0 while absent, +1 on every write), shared by everyone in the room.
///
/// Reads ([`get`](Self::get), [`entries`](Self::entries)) come from the channel's view of the
/// storage, loaded after every join (a rejoin, a resume) and kept current from the room's
/// changes; each change also arrives in [`PresenceChannel::events`] as
/// [`ChannelEvent::StorageChanged`] once the view holds it, and each load as
/// [`ChannelEvent::StorageLoaded`]. Writes go to the server; the view takes them (the others'
/// and this client's own) when their change arrives. A handle is cheap to clone and lives as long
/// as it is held.
///
/// ```no_run
/// # async fn run(channel: rtm_sdk::PresenceChannel) -> Result<(), rtm_sdk::Error> {
/// use serde_json::json;
///
/// let storage = channel.storage();
/// storage.set("slide", json!(1)).await?;
/// // A counter that two people can bump at once without losing either bump:
/// let votes = storage
///     .update("votes", |n| json!(n.and_then(|n| n.as_u64()).unwrap_or(0) + 1))
///     .await?;
/// println!("{} votes (version {})", votes.value, votes.version);
/// # Ok(()) }
/// ```
///
/// [`PresenceChannel::events`]: crate::PresenceChannel::events
/// [`ChannelEvent::StorageChanged`]: crate::ChannelEvent::StorageChanged
/// [`ChannelEvent::StorageLoaded`]: crate::ChannelEvent::StorageLoaded
#[derive(Clone)]
pub struct RoomStorage {
    room: String,
    client: RealtimeClient,
    shared: ChannelShared,
}

impl std::fmt::Debug for RoomStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomStorage")
            .field("room", &self.room)
            .finish()
    }
}

impl RoomStorage {
    pub(crate) fn new(room: String, client: RealtimeClient, shared: ChannelShared) -> Self {
        Self {
            room,
            client,
            shared,
        }
    }

    /// The value of `key` in the view; `None` when the room does not have the key (or the view
    /// is not loaded yet: see [`RoomStorage::wait_loaded`]).
    pub fn get(&self, key: &str) -> Option<Value> {
        self.entry(key).map(|entry| entry.value)
    }

    /// The value and version of `key` in the view; `None` when the room does not have the key.
    pub fn entry(&self, key: &str) -> Option<StorageEntry> {
        self.shared
            .storage
            .read()
            .expect("storage lock")
            .get(key)
            .cloned()
    }

    /// Every key of the view with its value and version, in key order.
    pub fn entries(&self) -> Vec<(String, StorageEntry)> {
        self.shared
            .storage
            .read()
            .expect("storage lock")
            .entries()
            .to_vec()
    }

    /// Whether the view was ever loaded (the first load follows the join's answer). Until then
    /// it is empty.
    pub fn is_loaded(&self) -> bool {
        self.shared.status.borrow().storage_loaded
    }

    /// Waits until the view was loaded once; at once when it was. Wrap it in a timeout: a load
    /// that fails is tried again only when the server may answer better later (see
    /// [`ChannelEvent::Error`](crate::ChannelEvent::Error)).
    pub async fn wait_loaded(&self) {
        let mut status = self.shared.status.subscribe();
        // The sender lives as long as this handle.
        let _ = status.wait_for(|s| s.storage_loaded).await;
    }

    /// Reads `key` from the server rather than from the view: its value and version (`Null` and
    /// 0 when absent).
    pub async fn fetch(&self, key: &str) -> Result<StorageEntry, Error> {
        self.client.storage_get(&self.room, key).await
    }

    /// Writes `value` (any JSON but `null`, at most 64 KiB) to `key`, whatever its version;
    /// returns the key's new version.
    pub async fn set(&self, key: &str, value: Value) -> Result<u64, Error> {
        self.client.storage_set(&self.room, key, value, None).await
    }

    /// Writes `value` to `key` only if the key is at `version` (0: only if absent); returns the
    /// new version. Otherwise nothing changes and the answer is [`Error::Conflict`], whose
    /// `current` is the key as it is now.
    pub async fn set_if(&self, key: &str, value: Value, version: u64) -> Result<u64, Error> {
        let written = self
            .client
            .storage_set(&self.room, key, value, Some(version));
        written.await
    }

    /// Deletes `key`; returns whether the room had it.
    pub async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.client.storage_delete(&self.room, key, None).await
    }

    /// Deletes `key` only if it is at `version`, else [`Error::Conflict`] as for
    /// [`RoomStorage::set_if`]; returns whether the room had it.
    pub async fn delete_if(&self, key: &str, version: u64) -> Result<bool, Error> {
        self.client
            .storage_delete(&self.room, key, Some(version))
            .await
    }

    /// Sets `key` to `f(current value)` atomically: a compare-and-set of the view's version that,
    /// when another write got there first, calls `f` again with the value that conflict brought
    /// and tries again after a short random wait, up to
    /// [`UPDATE_ATTEMPTS`](rtm_sdk_core::storage::UPDATE_ATTEMPTS) (32) times. `f` gets `None`
    /// when the key is absent, and may be called several times: keep it free of side effects.
    /// Returns what was written, with its version; after the last attempt, the
    /// [`Error::Conflict`].
    pub async fn update<F>(&self, key: &str, mut f: F) -> Result<StorageEntry, Error>
    where
        F: FnMut(Option<&Value>) -> Value,
    {
        let mut current = self.entry(key).unwrap_or_default();
        let mut update = Update::new(seed());
        loop {
            let value = f((current.version > 0).then_some(&current.value));
            match self.set_if(key, value.clone(), current.version).await {
                Ok(version) => return Ok(StorageEntry { value, version }),
                Err(error) => {
                    let (now, wait_ms) = update.retry(error)?;
                    current = now;
                    tokio::time::sleep(Duration::from_millis(wait_ms)).await;
                }
            }
        }
    }
}
