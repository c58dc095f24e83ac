//! How a socket went, which decides when its presence is announced gone: at once when it left on
//! purpose, after the grace when it was lost (it may come back and resume). The server records it
//! before the disconnect hooks run; modules read it with [`Departure::of`].

use socketioxide::extract::SocketRef;
use socketioxide::socket::DisconnectReason;

/// How a socket went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// On purpose: the client sent a Socket.IO DISCONNECT, or the backend API disconnected it.
    Left,
    /// Lost: the transport closed or failed, the ping timed out, the node is draining or shutting
    /// down, or the server closed it for a reason the client comes back from (token expiry, slow
    /// consumer).
    Lost,
}

impl Departure {
    /// How `socket` went (`Lost` unless recorded otherwise).
    pub fn of(socket: &SocketRef) -> Self {
        socket.extensions.get::<Self>().unwrap_or(Self::Lost)
    }

    /// Records that the server is about to disconnect `socket` on purpose (its leaves are
    /// announced at once).
    pub(crate) fn mark_left(socket: &SocketRef) {
        socket.extensions.insert(Self::Left);
    }

    /// Records how `socket` went from Socket.IO's reason, unless already recorded.
    pub(crate) fn record(socket: &SocketRef, reason: DisconnectReason) {
        if socket.extensions.get::<Self>().is_none() {
            let departure = match reason {
                DisconnectReason::ClientNSDisconnect => Self::Left,
                _ => Self::Lost,
            };
            socket.extensions.insert(departure);
        }
    }
}
