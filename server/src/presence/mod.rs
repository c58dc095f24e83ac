//! The built-in presence module: who is in each room, with each connection's state, kept alive by
//! heartbeats, fenced by epochs, expired by a reaper, announced as `presence:event`.

mod counter;
mod event;
mod fanout;
mod handlers;
mod health;
mod heartbeat_batch;
mod local_conns;
mod membership;
pub mod memory;
mod reaper;
pub mod redis;
mod redis_meta;
mod requests;
mod rest;
mod retry;
pub mod store;
mod watched;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use rtm_protocol::wire::{PresenceEventType, PresenceSync};
use rtm_protocol::{events, fields};
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use tokio::task::JoinHandle;

use local_conns::LocalConns;
pub use membership::Joined;
use membership::Membership;
#[cfg(test)]
pub(crate) use requests::epoch as epoch_of;
use store::PresenceStore;

use crate::backend::{Directory, RoomEntry, SocketRooms};
use crate::bus::{Bus, BusMessage};
use crate::module::{BoxError, Module, ModuleContext};

/// Presence settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceOptions {
    /// A connection that sends no heartbeat for this long is removed and announced as left.
    pub ttl: Duration,
    /// How often expired connections are looked for.
    pub reaper_interval: Duration,
    /// How long a lost connection's entries are kept for it to resume (zero: announced at once;
    /// cut to the TTL).
    pub grace: Duration,
    /// The most entries a snapshot page lists (a join's, a heartbeat's, `presence:members`').
    pub snapshot_page: usize,
    /// A `batch: true` member's window of events (zero: every event sent at once).
    pub batch: Duration,
    /// The least time between two `presence:count`s of a room.
    pub count_interval: Duration,
    /// On Redis, how long a heartbeat waits for others to share its script call (zero: only
    /// those already queued do).
    pub heartbeat_tick: Duration,
}

impl Default for PresenceOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            reaper_interval: Duration::from_secs(3),
            grace: Duration::from_secs(5),
            snapshot_page: 1000,
            batch: Duration::from_millis(50),
            count_interval: Duration::from_secs(1),
            heartbeat_tick: Duration::from_millis(2),
        }
    }
}

/// The presence module. Register it first: other modules (chat) rely on its membership.
pub struct PresenceModule {
    options: PresenceOptions,
    state: OnceLock<Arc<Presence>>,
    /// The reaper and the counter.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the handlers share.
pub(crate) struct Presence {
    pub(crate) store: Arc<dyn PresenceStore>,
    /// This node's sockets by connection id.
    pub(crate) local: LocalConns,
    /// The most rooms one connection may be joined to at once.
    pub(crate) max_rooms: usize,
    /// The presence TTL.
    pub(crate) ttl: Duration,
    /// How long a lost connection's entries wait for a resume (at most the TTL).
    pub(crate) grace: Duration,
    /// The bus: rooms are joined through it.
    pub(crate) bus: Bus,
    /// This node's members of each room, by how they take presence.
    pub(crate) fanout: Arc<fanout::Fanout>,
    /// The most entries a snapshot page lists.
    pub(crate) page: usize,
    /// Turns for the store writes of departing connections (see [`DEPARTURES_AT_ONCE`]).
    pub(crate) departures: tokio::sync::Semaphore,
}

/// How many departing connections' store writes run at once on a node.
const DEPARTURES_AT_ONCE: usize = 32;

impl Presence {
    /// `socket` is out of `room` on this node: its Socket.IO room, the room's channel (when it
    /// was the last) and the room's presence fan-out.
    pub(crate) fn release_room(&self, socket: &SocketRef, room: &str) {
        self.bus.leave(socket, room);
        self.fanout.remove(socket.id, room);
    }
}

impl PresenceModule {
    /// A presence module with `options`.
    pub fn new(options: PresenceOptions) -> Self {
        Self {
            options,
            state: OnceLock::new(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    fn state(&self) -> &Arc<Presence> {
        self.state.get().expect("presence is registered before use")
    }
}

/// The socket's presence in `room`, if it has joined it on this node. This is how other modules
/// (chat) check that a socket is a member of a room, and as which user.
pub fn joined(socket: &SocketRef, room: &str) -> Option<Joined> {
    Membership::of(socket).get(room)
}

/// How many distinct rooms `sockets` are joined to (the `rtm_rooms` gauge, from this node's).
pub(crate) fn rooms_on_node(sockets: &[SocketRef]) -> usize {
    let mut rooms = std::collections::HashSet::new();
    for membership in sockets
        .iter()
        .filter_map(|s| s.extensions.get::<Membership>())
    {
        rooms.extend(membership.joined_rooms().into_iter().map(|(room, _)| room));
    }
    rooms.len()
}

#[async_trait]
impl Module for PresenceModule {
    fn name(&self) -> &str {
        "presence"
    }

    async fn register(&self, ctx: &ModuleContext) -> Result<(), BoxError> {
        let inner: Arc<dyn PresenceStore> = match ctx.redis() {
            Some(redis) => Arc::new(redis::RedisPresenceStore::new(
                redis,
                self.options.ttl,
                self.options.heartbeat_tick,
                ctx.metrics().clone(),
            )),
            None => Arc::new(memory::MemoryPresenceStore::new(
                ctx.bus().clone(),
                self.options.ttl,
            )),
        };
        // A call slower than a reaper interval (at least half a second) is a stall.
        let stall = self.options.reaper_interval.max(Duration::from_millis(500));
        let health = Arc::new(health::StoreHealth::new(self.options.ttl, stall));
        let store: Arc<dyn PresenceStore> = Arc::new(watched::Watched {
            inner,
            health: health.clone(),
        });
        let reaper = reaper::spawn(
            store.clone(),
            health,
            self.options.reaper_interval,
            ctx.metrics(),
        );
        let fanout = Arc::new(fanout::Fanout::new(self.options.batch));
        let counter = counter::spawn(store.clone(), fanout.clone(), self.options.count_interval);
        self.tasks
            .lock()
            .expect("tasks lock")
            .extend([reaper, counter]);
        let routed = fanout.clone();
        ctx.bus().route(
            events::PRESENCE_EVENT,
            Arc::new(move |_io, room, event| routed.deliver(room, event)),
        );
        let presence = Arc::new(Presence {
            store,
            local: LocalConns::default(),
            max_rooms: ctx.limits().max_rooms_per_connection,
            ttl: self.options.ttl,
            grace: self.options.grace.min(self.options.ttl),
            bus: ctx.bus().clone(),
            fanout,
            page: self.options.snapshot_page.max(1),
            departures: tokio::sync::Semaphore::new(DEPARTURES_AT_ONCE),
        });
        ctx.backend().set_directory(Arc::new(MembershipDirectory));
        let resynced = presence.clone();
        ctx.bus().on_resync(Arc::new(move |_io, room| {
            let p = resynced.clone();
            Box::pin(async move { resync(&p, &room).await })
        }));
        let tapped = presence.clone();
        ctx.bus().tap(Arc::new(move |io, message| {
            release_expired(&tapped, io, message)
        }));
        ctx.handle(events::PRESENCE_JOIN, presence.clone(), handlers::join)?;
        ctx.handle(
            events::PRESENCE_HEARTBEAT,
            presence.clone(),
            handlers::heartbeat,
        )?;
        ctx.handle(events::PRESENCE_LEAVE, presence.clone(), handlers::leave)?;
        ctx.handle(
            events::PRESENCE_MEMBERS,
            presence.clone(),
            handlers::members,
        )?;
        self.state
            .set(presence)
            .map_err(|_| "the presence module was registered twice")?;
        Ok(())
    }

    fn on_connection(&self, socket: &SocketRef, _ctx: &ModuleContext) {
        self.state()
            .local
            .insert(Membership::attach(socket).conn_id(), socket.id);
    }

    async fn on_disconnect(&self, socket: &SocketRef, _ctx: &ModuleContext) {
        handlers::leave_all(self.state(), socket).await;
    }

    fn routes(&self, _ctx: &ModuleContext) -> Option<axum::Router> {
        Some(rest::routes(self.state().clone()))
    }

    async fn on_shutdown(&self) {
        for task in self.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
    }
}

/// Tells the backend API which rooms a socket is joined to, from its membership.
struct MembershipDirectory;

impl Directory for MembershipDirectory {
    fn rooms_of(&self, socket: &SocketRef) -> Option<SocketRooms> {
        let membership = socket.extensions.get::<Membership>()?;
        Some(SocketRooms {
            conn_id: membership.conn_id().to_string(),
            rooms: membership
                .joined_rooms()
                .into_iter()
                .map(|(room, joined)| RoomEntry {
                    room,
                    user: joined.user_id,
                    conn_id: joined.conn_id.to_string(),
                })
                .collect(),
        })
    }
}

/// A socket on this node whose presence expired (reaper) leaves the Socket.IO room too, unless it
/// has joined again since.
fn release_expired(p: &Presence, io: &SocketIo, message: &BusMessage) {
    if message.event != events::PRESENCE_EVENT
        || message.data[fields::TYPE] != PresenceEventType::Leave.as_str()
    {
        return;
    }
    let (Some(conn), Some(epoch)) = (
        message.data[fields::CONN_ID].as_str(),
        message.data[fields::EPOCH].as_u64(),
    ) else {
        return;
    };
    // Through `of`: `io.get_socket` panics once shutdown has closed the namespace.
    let namespace = io.of("/");
    let Some(socket) = p.local.get(conn).and_then(|sid| namespace?.get_socket(sid)) else {
        return;
    };
    if Membership::of(&socket).remove_epoch(&message.room, epoch) {
        p.release_room(&socket, &message.room);
    }
}

/// Brings `room`'s local members up to date after this node's subscription to the room's
/// channel was lost and restored: each `"events"` member gets the room's first page
/// (`presence:sync`), which the SDK applies like a rejoin's answer and pages on from; `"count"`
/// members get the count. When the store cannot be read, the members' next heartbeat tells them
/// (`not_joined` or `unavailable`) and they rejoin.
async fn resync(p: &Presence, room: &str) {
    let page = match p.store.page(room, None, p.page).await {
        Ok(page) => page,
        Err(err) => {
            tracing::warn!(%err, %room, "resync after a lost subscription failed");
            return;
        }
    };
    let sync = PresenceSync {
        room_id: room.to_string(),
        snapshot: page.entries,
        total: Some(page.total),
        cursor: page.cursor,
    };
    if let Ok(data) = serde_json::value::to_raw_value(&sync) {
        p.fanout.sync(room, &data);
    }
}
