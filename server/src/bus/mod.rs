//! The event bus: how a broadcast to a room reaches the room's members on every node, once.
//!
//! Every node delivers bus messages to its *local* sockets only. On the in-memory store the bus is
//! a channel inside the process. On Redis each room has a channel of its own (sharded pub/sub in
//! a cluster), and a node subscribes to a room's channel only while one of its sockets is in the
//! room ([`Bus::join`]): an event published once (by a module, or from inside a presence Lua
//! script in the same round trip as the write) reaches each member exactly once, and a node
//! receives only its own rooms' traffic. Server-wide messages (the backend API's) travel on
//! channels of their own ("control" channels).

mod delivery;
mod inbox;
pub(crate) mod slow_consumer;
mod subscriptions;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use delivery::Delivery;
pub use delivery::Resync;
pub(crate) use delivery::emit_each;
use subscriptions::Subscriptions;

use crate::metrics::Metrics;
use crate::redis::RedisConnection;
use crate::redis::keys;

/// One broadcast: emit `event` with `data` to every socket in `room`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusMessage {
    /// The Socket.IO room to emit to.
    pub room: String,
    /// The event name.
    pub event: String,
    /// The event payload.
    pub data: Value,
}

/// A callback run on each node for each bus message, after it was emitted to the local sockets.
pub type Tap = Arc<dyn Fn(&SocketIo, &BusMessage) + Send + Sync>;

/// What delivers one event name's messages to a room's local sockets instead of the bus
/// (`room`, the message's data as JSON text): see [`Bus::route`].
pub type Route = Arc<dyn Fn(&SocketIo, &str, &RawValue) + Send + Sync>;

/// A handle to the bus; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    deliveries: mpsc::UnboundedSender<Delivery>,
    redis: Option<RedisConnection>,
    subscriptions: Option<Subscriptions>,
    taps: RwLock<Vec<Tap>>,
    routes: RwLock<Vec<(&'static str, Route)>>,
    resync: RwLock<Option<Resync>>,
    metrics: Metrics,
}

/// The rooms a socket joined through the bus, kept in its extensions.
#[derive(Clone, Default)]
struct BusRooms(Arc<Mutex<HashSet<String>>>);

/// What runs the bus: the delivery task, and on Redis the subscriber's tasks.
pub(crate) struct BusTasks {
    tasks: Vec<JoinHandle<()>>,
}

impl BusTasks {
    /// Adds a task that stops with the bus.
    pub(crate) fn push(&mut self, task: JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// Stops delivering.
    pub(crate) fn abort(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

impl Bus {
    /// Starts the bus for `io`. On Redis this returns once the `control` channels are
    /// subscribed; what arrives on them goes, as it came, to the returned receiver. Messages
    /// published and received are counted in `metrics`.
    pub(crate) async fn start(
        io: SocketIo,
        redis: Option<RedisConnection>,
        control: Vec<String>,
        metrics: &Metrics,
    ) -> Result<(Bus, BusTasks, mpsc::UnboundedReceiver<Vec<u8>>), redis::RedisError> {
        let (deliveries, deliveries_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        let subscriptions = match &redis {
            Some(redis) => {
                let (pushes_tx, pushes) = mpsc::unbounded_channel();
                let mut subscriber = redis.subscriber(pushes_tx).await?;
                subscriber.subscribe(&control).await?;
                let (subscriptions, worker) = Subscriptions::start(subscriber, metrics.clone());
                tasks.push(worker);
                let inbox = inbox::Inbox::new(
                    control,
                    control_tx,
                    deliveries.clone(),
                    subscriptions.clone(),
                );
                tasks.push(tokio::spawn(inbox.run(pushes)));
                Some(subscriptions)
            }
            None => None,
        };
        let bus = Bus {
            inner: Arc::new(Inner {
                deliveries,
                redis,
                subscriptions,
                taps: RwLock::new(Vec::new()),
                routes: RwLock::new(Vec::new()),
                resync: RwLock::new(None),
                metrics: metrics.clone(),
            }),
        };
        tasks.push(tokio::spawn(delivery::run(io, bus.clone(), deliveries_rx)));
        Ok((bus, BusTasks { tasks }, control_rx))
    }

    /// Publishes `message` to the room on every node.
    pub async fn publish(&self, message: BusMessage) -> Result<(), redis::RedisError> {
        match &self.inner.redis {
            Some(redis) => {
                let payload = serde_json::to_string(&message).expect("a JSON value serializes");
                let mut conn = redis.conn.clone();
                redis::cmd(redis.publish_command())
                    .arg(keys::room_channel(&message.room))
                    .arg(payload)
                    .exec_async(&mut conn)
                    .await?;
                self.inner.metrics.bus_published();
                Ok(())
            }
            None => {
                self.publish_local(message);
                Ok(())
            }
        }
    }

    /// Delivers `message` on this node only. Used by the in-memory stores, where this node is the
    /// only one.
    pub fn publish_local(&self, message: BusMessage) {
        // The receiver lives as long as the server; after shutdown there is no one to tell.
        let _ = self.inner.deliveries.send(Delivery::Message(message));
        self.inner.metrics.bus_published();
    }

    /// Puts `socket` in the Socket.IO room `room` and makes sure this node receives the room's
    /// events: on Redis it subscribes to the room's channel if no other local socket is in the
    /// room, and returns once the subscription is confirmed, so that no event published after
    /// this returns is missed. Join sockets to rooms through this, not `socket.join`.
    pub async fn join(&self, socket: &SocketRef, room: &str) -> Result<(), redis::RedisError> {
        let rooms = socket.extensions.get::<BusRooms>().unwrap_or_else(|| {
            let rooms = BusRooms::default();
            socket.extensions.insert(rooms.clone());
            rooms
        });
        let added = rooms
            .0
            .lock()
            .expect("bus rooms lock")
            .insert(room.to_string());
        if added
            && let Some(subscriptions) = &self.inner.subscriptions
            && let Err(err) = subscriptions.add(room).await
        {
            rooms.0.lock().expect("bus rooms lock").remove(room);
            return Err(err);
        }
        socket.join(room.to_string());
        Ok(())
    }

    /// Takes `socket` out of the Socket.IO room `room`; the node unsubscribes from the room's
    /// channel (after a short linger) when its last local socket has left.
    pub fn leave(&self, socket: &SocketRef, room: &str) {
        socket.leave(room.to_string());
        let removed = socket
            .extensions
            .get::<BusRooms>()
            .is_some_and(|rooms| rooms.0.lock().expect("bus rooms lock").remove(room));
        if removed && let Some(subscriptions) = &self.inner.subscriptions {
            subscriptions.remove(room);
        }
    }

    /// Takes a socket that went out of every room it joined through the bus.
    pub(crate) fn forget(&self, socket: &SocketRef) {
        let Some(rooms) = socket.extensions.get::<BusRooms>() else {
            return;
        };
        let rooms = std::mem::take(&mut *rooms.0.lock().expect("bus rooms lock"));
        for room in rooms {
            socket.leave(room.clone());
            if let Some(subscriptions) = &self.inner.subscriptions {
                subscriptions.remove(&room);
            }
        }
    }

    /// Adds a callback that sees every message this node delivers.
    pub fn tap(&self, tap: Tap) {
        self.inner.taps.write().expect("taps lock").push(tap);
    }

    /// Delivers `event`'s messages with `route` rather than to every socket of the room: the
    /// presence module sends presence events to each member as it asked (single, batched, or
    /// only as a count).
    pub fn route(&self, event: &'static str, route: Route) {
        self.inner
            .routes
            .write()
            .expect("routes lock")
            .push((event, route));
    }

    /// Sets what brings a room's local members up to date after this node's subscription to
    /// the room's channel was lost and restored (events published meanwhile were missed). It
    /// runs in order with the room's deliveries. The presence module sets it.
    pub fn on_resync(&self, resync: Resync) {
        *self.inner.resync.write().expect("resync lock") = Some(resync);
    }
}
