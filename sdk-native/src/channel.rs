//! [`PresenceChannel`]: one room, joined.

use std::sync::Mutex;
use std::time::Duration;

use rtm_sdk_core::{ChannelEvent, Error, HeartbeatResponse, Member, PresenceEntry};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use crate::client::RealtimeClient;
use crate::driver::ChannelShared;
use crate::storage::RoomStorage;

/// A joined room: its live view, its events, and the calls that act on it.
///
/// The channel rejoins by itself after a reconnect or a `not_joined`/`stale_epoch` answer, with
/// its last state; its events say so (`Disconnected`, then `Reconnected` with a fresh snapshot).
pub struct PresenceChannel {
    room: String,
    client: RealtimeClient,
    shared: ChannelShared,
    first_events: Mutex<Option<broadcast::Receiver<ChannelEvent>>>,
}

impl Clone for PresenceChannel {
    /// Another handle on the same channel; its `events()` start when asked for.
    fn clone(&self) -> Self {
        Self {
            room: self.room.clone(),
            client: self.client.clone(),
            shared: self.shared.clone(),
            first_events: Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for PresenceChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceChannel")
            .field("room", &self.room)
            .finish()
    }
}

impl PresenceChannel {
    pub(crate) fn new(
        room: String,
        client: RealtimeClient,
        shared: ChannelShared,
        first_events: broadcast::Receiver<ChannelEvent>,
    ) -> Self {
        Self {
            room,
            client,
            shared,
            first_events: Mutex::new(Some(first_events)),
        }
    }

    /// The room.
    pub fn room_id(&self) -> &str {
        &self.room
    }

    /// The channel's events. The first stream starts at the join (its `Snapshot` and `Connected`
    /// included); later ones start when asked for. A listener more than 1024 events behind loses
    /// the oldest.
    pub fn events(&self) -> impl Stream<Item = ChannelEvent> + Send + Unpin + 'static {
        let rx = self
            .first_events
            .lock()
            .expect("events lock")
            .take()
            .unwrap_or_else(|| self.shared.events.subscribe());
        BroadcastStream::new(rx).filter_map(|event| event.ok())
    }

    /// The room's users, their connections (tabs) merged.
    pub fn members(&self) -> Vec<Member> {
        self.shared.view.read().expect("view lock").members()
    }

    /// The room's connections.
    pub fn connections(&self) -> Vec<PresenceEntry> {
        self.shared.view.read().expect("view lock").connections()
    }

    /// How many connections the room has: joined with [`PresenceLevel::Count`], the server's
    /// latest count (the join's `total`, then each `presence:count`; also a
    /// [`ChannelEvent::Count`]); joined for events, the view's number of connections (short of
    /// the room's while a large room's snapshot is still being read: see
    /// [`PresenceChannel::is_complete`]). `None` before the first count.
    ///
    /// [`PresenceLevel::Count`]: crate::PresenceLevel::Count
    pub fn count(&self) -> Option<u64> {
        self.shared.status.borrow().count
    }

    /// Whether the view holds the whole room: joined, and every page of its last snapshot read
    /// (a large room's snapshot comes in pages: [`ChannelEvent::Page`]).
    pub fn is_complete(&self) -> bool {
        self.shared.status.borrow().complete
    }

    /// Waits until the view holds the whole room ([`PresenceChannel::is_complete`]); at once when
    /// it does. Wrap it in a timeout: a view whose paging failed is complete only after the next
    /// snapshot (a rejoin, or a heartbeat that finds the view differs).
    pub async fn wait_complete(&self) {
        let mut status = self.shared.status.subscribe();
        // The sender lives as long as this handle.
        let _ = status.wait_for(|s| s.complete).await;
    }

    /// Waits until the room's [`PresenceChannel::count`] satisfies `until`; returns that count.
    pub async fn wait_count(&self, mut until: impl FnMut(u64) -> bool) -> u64 {
        let mut status = self.shared.status.subscribe();
        let reached = status.wait_for(|s| s.count.is_some_and(&mut until)).await;
        reached.map_or(0, |s| s.count.unwrap_or(0))
    }

    /// The room's storage: its view (loaded after every join and kept current) and its writes,
    /// among them [`RoomStorage::update`], a compare-and-set that retries on conflict.
    pub fn storage(&self) -> RoomStorage {
        RoomStorage::new(self.room.clone(), self.client.clone(), self.shared.clone())
    }

    /// Merges `patch` (a JSON object) into this connection's state and sends it at once.
    pub async fn update_state(&self, patch: Value) -> Result<HeartbeatResponse, Error> {
        let Value::Object(patch) = patch else {
            return Err(Error::InvalidState(
                "a state patch must be a JSON object".into(),
            ));
        };
        self.client.update_state(&self.room, patch).await
    }

    /// Sends an event of the app's own without waiting.
    pub async fn emit(&self, event: &str, payload: Value) -> Result<(), Error> {
        self.client.emit(event, payload).await
    }

    /// Sends an event and waits for the answer, at most `timeout`.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        payload: Value,
        timeout: Option<Duration>,
    ) -> Result<Value, Error> {
        self.client.emit_with_ack(event, payload, timeout).await
    }

    /// Leaves the room: gone locally at once, resolved after the server's ack or its timeout.
    pub async fn leave(self) {
        self.client.leave(&self.room).await;
    }
}
