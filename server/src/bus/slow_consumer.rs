//! Slow consumers: a socket whose outgoing buffer is full cannot take an event or an ack. Rather
//! than leave it connected without them (a member that silently misses events), it is
//! disconnected: its SDK reconnects, rejoins and gets a fresh snapshot. The Socket.IO DISCONNECT
//! itself needs a free slot, so it is retried until the buffer drains (or the socket is gone;
//! one that never reads at all is closed by the Engine.IO ping timeout).

use std::time::Duration;

use socketioxide::SocketError;
use socketioxide::extract::SocketRef;

/// Marks a socket already being disconnected as a slow consumer.
#[derive(Clone)]
struct Disconnecting;

/// Disconnects `socket`, whose buffer was full, once.
pub(crate) fn disconnect(socket: SocketRef) {
    if socket.extensions.insert(Disconnecting).is_some() {
        return;
    }
    tracing::info!(sid = %socket.id, "slow consumer: its buffer is full; disconnecting it");
    tokio::spawn(async move {
        for _ in 0..600 {
            match socket.clone().disconnect() {
                Err(SocketError::InternalChannelFull) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(()) | Err(SocketError::Closed) => return,
            }
        }
    });
}
