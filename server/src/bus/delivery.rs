//! The delivery task: emits what the bus carries to this node's sockets, in order.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::value::RawValue;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError, SocketIo};
use tokio::sync::mpsc;

use super::{Bus, BusMessage};

/// What brings the local members of a room up to date after its channel's subscription was
/// restored (see [`Bus::on_resync`]).
pub type Resync = Arc<dyn Fn(SocketIo, String) -> BoxFuture<'static, ()> + Send + Sync>;

/// A bus message as it came from Redis: its data is kept as JSON text, emitted to each socket
/// as it is (not parsed into a tree and written again for every socket).
#[derive(Deserialize)]
pub(crate) struct RawBusMessage {
    room: String,
    event: String,
    data: Box<RawValue>,
}

/// One thing for the delivery task to do.
pub(crate) enum Delivery {
    /// Emit a message of this node's to the room's local sockets.
    Message(BusMessage),
    /// Emit a message from Redis to the room's local sockets.
    Raw(RawBusMessage),
    /// The room's channel was resubscribed after a loss: resync its local members. Done in order
    /// with the messages, so an event received after the resync's snapshot was read is applied
    /// after it, never before.
    Resync(String),
}

/// Delivers until the bus's senders are gone.
pub(crate) async fn run(io: SocketIo, bus: Bus, mut rx: mpsc::UnboundedReceiver<Delivery>) {
    while let Some(delivery) = rx.recv().await {
        match delivery {
            Delivery::Message(message) => {
                let Ok(data) = serde_json::value::to_raw_value(&message.data) else {
                    continue;
                };
                deliver(&io, &bus, &message.room, &message.event, &data);
                tap(&io, &bus, || Some(message));
            }
            Delivery::Raw(raw) => {
                deliver(&io, &bus, &raw.room, &raw.event, &raw.data);
                tap(&io, &bus, || {
                    let data = serde_json::from_str(raw.data.get()).ok()?;
                    Some(BusMessage {
                        room: raw.room,
                        event: raw.event,
                        data,
                    })
                });
            }
            Delivery::Resync(room) => {
                let resync = bus.inner.resync.read().expect("resync lock").clone();
                if let Some(resync) = resync {
                    resync(io.clone(), room).await;
                }
            }
        }
    }
}

/// Emits `event` with `data` to the room's sockets on this node.
fn deliver(io: &SocketIo, bus: &Bus, room: &str, event: &str, data: &RawValue) {
    bus.inner.metrics.bus_received();
    let route = bus
        .inner
        .routes
        .read()
        .expect("routes lock")
        .iter()
        .find(|(name, _)| *name == event)
        .map(|(_, route)| route.clone());
    if let Some(route) = route {
        route(io, room, data);
        return;
    }
    // `io.to` would panic once shutdown has closed the namespace; `of` says so instead.
    let Some(namespace) = io.of("/") else {
        return;
    };
    let sockets = namespace.to(room.to_string()).sockets();
    emit_each(&sockets, event, data, room);
}

/// Shows the message to the taps (made only when there are some).
fn tap(io: &SocketIo, bus: &Bus, message: impl FnOnce() -> Option<BusMessage>) {
    let taps = bus.inner.taps.read().expect("taps lock").clone();
    if taps.is_empty() {
        return;
    }
    let Some(message) = message() else {
        return;
    };
    for tap in taps {
        tap(io, &message);
    }
}

/// Emits `event` to each of `sockets`, one by one, so that a socket whose buffer is full is
/// known: it is a slow consumer and is disconnected (see `slow_consumer`), never left connected
/// without the event. `data` is JSON text, copied into each socket's packet as it is. One log
/// line per delivery that failed anywhere, with counts; `to` names the audience in it.
pub(crate) fn emit_each(sockets: &[SocketRef], event: &str, data: &RawValue, to: &str) {
    let (mut slow, mut failed) = (0usize, 0usize);
    for socket in sockets {
        match socket.emit(event, data) {
            Ok(()) | Err(SendError::Socket(SocketError::Closed)) => {}
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                slow += 1;
                crate::bus::slow_consumer::disconnect(socket.clone());
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
