//! The event bus: how a broadcast to a room reaches the room's members on every node, once.
//!
//! Every node delivers bus messages to its *local* sockets only. On the in-memory store the bus is
//! a channel inside the process; on Redis it is one pub/sub channel that every node subscribes to,
//! so an event published once (by a module, or from inside a presence Lua script in the same round
//! trip as the write) reaches each member exactly once, on whichever node it is connected to.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::extract::SocketRef;
use socketioxide::operators::BroadcastOperators;
use socketioxide::{SendError, SocketError, SocketIo};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::redis_backend::RedisBackend;

/// The prefix of every Redis key and channel rtm uses.
pub const KEY_PREFIX: &str = "rtm:";

/// The Redis pub/sub channel that carries bus messages between nodes.
pub fn channel() -> String {
    format!("{KEY_PREFIX}bus")
}

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

/// A handle to the bus; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    local: mpsc::UnboundedSender<BusMessage>,
    redis: Option<RedisBackend>,
    taps: RwLock<Vec<Tap>>,
    metrics: Metrics,
}

/// What runs the bus: the delivery task, and on Redis the subscriber.
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
    /// Starts the bus for `io`. On Redis this returns once the subscription is in place, so no
    /// event published after `start` returns is missed by this node. The same subscription
    /// listens on `control` channels too: what arrives there goes, as it came, to the returned
    /// receiver. Messages published and received are counted in `metrics`.
    pub(crate) async fn start(
        io: SocketIo,
        redis: Option<RedisBackend>,
        control: Vec<String>,
        metrics: &Metrics,
    ) -> Result<(Bus, BusTasks, mpsc::UnboundedReceiver<Vec<u8>>), redis::RedisError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let bus = Bus {
            inner: Arc::new(Inner {
                local: tx.clone(),
                redis: redis.clone(),
                taps: RwLock::new(Vec::new()),
                metrics: metrics.clone(),
            }),
        };
        let mut tasks = vec![tokio::spawn(deliver(io, bus.clone(), rx))];
        if let Some(redis) = redis {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let inbox = Inbox {
                bus: tx,
                control: control_tx,
            };
            tasks.push(tokio::spawn(subscribe(redis, control, inbox, ready_tx)));
            match ready_rx.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    BusTasks { tasks }.abort();
                    return Err(err);
                }
                Err(_) => unreachable!("the subscriber reports before it ends"),
            }
        }
        Ok((bus, BusTasks { tasks }, control_rx))
    }

    /// Publishes `message` to the room on every node.
    pub async fn publish(&self, message: BusMessage) -> Result<(), redis::RedisError> {
        match &self.inner.redis {
            Some(redis) => {
                let payload = serde_json::to_string(&message).expect("a JSON value serializes");
                let mut conn = redis.conn.clone();
                redis::cmd("PUBLISH")
                    .arg(channel())
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
        let _ = self.inner.local.send(message);
        self.inner.metrics.bus_published();
    }

    /// Adds a callback that sees every message this node delivers.
    pub fn tap(&self, tap: Tap) {
        self.inner.taps.write().expect("taps lock").push(tap);
    }
}

async fn deliver(io: SocketIo, bus: Bus, mut rx: mpsc::UnboundedReceiver<BusMessage>) {
    while let Some(message) = rx.recv().await {
        bus.inner.metrics.bus_received();
        // `io.to` would panic once shutdown has closed the namespace; `of` says so instead.
        let Some(namespace) = io.of("/") else {
            continue;
        };
        emit_to_room(namespace, &message);
        let taps = bus.inner.taps.read().expect("taps lock").clone();
        for tap in taps {
            tap(&io, &message);
        }
    }
}

/// Emits the message to each socket of its room on this node.
fn emit_to_room(namespace: BroadcastOperators, message: &BusMessage) {
    let sockets = namespace.to(message.room.clone()).sockets();
    emit_each(&sockets, &message.event, &message.data, &message.room);
}

/// Emits `event` to each of `sockets`, one by one, so that a socket whose buffer is full is
/// known: it is a slow consumer and is disconnected (see `slow_consumer`), never left connected
/// without the event. One log line per delivery that failed anywhere, with counts; `to` names
/// the audience in it.
pub(crate) fn emit_each(sockets: &[SocketRef], event: &str, data: &Value, to: &str) {
    let (mut slow, mut failed) = (0usize, 0usize);
    for socket in sockets {
        match socket.emit(event, data) {
            Ok(()) | Err(SendError::Socket(SocketError::Closed)) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                slow += 1;
                crate::slow_consumer::disconnect(socket.clone());
            }
            Err(err) => {
                failed += 1;
                tracing::debug!(%err, sid = %socket.id, "bus delivery to a socket failed");
            }
        }
    }
    if slow + failed > 0 {
        tracing::warn!(%to, %event, slow, failed, "bus delivery incomplete");
    }
}

/// Where the subscriber forwards what arrives.
struct Inbox {
    /// Room messages, parsed, to the delivery task.
    bus: mpsc::UnboundedSender<BusMessage>,
    /// Control messages, as they came.
    control: mpsc::UnboundedSender<Vec<u8>>,
}

impl Inbox {
    /// Forwards one pub/sub message; false once nobody listens any more.
    fn forward(&self, from: &str, payload: &[u8]) -> bool {
        if from != channel() {
            return self.control.send(payload.to_vec()).is_ok();
        }
        match serde_json::from_slice::<BusMessage>(payload) {
            Ok(message) => self.bus.send(message).is_ok(),
            Err(err) => {
                tracing::warn!(%err, "ignoring a malformed bus message");
                true
            }
        }
    }
}

/// Subscribes to the bus channel and the `control` channels and forwards what arrives;
/// resubscribes after a lost connection. The first outcome is reported on `ready`.
async fn subscribe(
    redis: RedisBackend,
    control: Vec<String>,
    inbox: Inbox,
    ready: tokio::sync::oneshot::Sender<Result<(), redis::RedisError>>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    let mut channels = control;
    channels.push(channel());
    loop {
        let subscribed = async {
            let mut pubsub = redis.client.get_async_pubsub().await?;
            pubsub.subscribe(&channels).await?;
            Ok::<_, redis::RedisError>(pubsub)
        }
        .await;
        match subscribed {
            Ok(pubsub) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Ok(()));
                }
                backoff = Duration::from_millis(100);
                let mut stream = pubsub.into_on_message();
                while let Some(msg) = stream.next().await {
                    if !inbox.forward(msg.get_channel_name(), msg.get_payload_bytes()) {
                        return;
                    }
                }
                tracing::warn!("bus subscription lost; resubscribing");
            }
            Err(err) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(err));
                    return;
                }
                tracing::warn!(%err, "bus subscription failed; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
