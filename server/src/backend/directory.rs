//! How the backend API learns what presence knows about a socket, without depending on the
//! presence module: presence registers a [`Directory`] at start.

use socketioxide::extract::SocketRef;

/// What a socket is joined to, as the presence module knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketRooms {
    /// The socket's own public connection id.
    pub conn_id: String,
    /// Each room it is joined to.
    pub rooms: Vec<RoomEntry>,
}

/// A socket's entry in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    /// The room.
    pub room: String,
    /// The user it joined as.
    pub user: String,
    /// The entry's connection id: the socket's own, or that of an entry it resumed.
    pub conn_id: String,
}

/// Answers for the sockets on this node (implemented by the presence module).
pub trait Directory: Send + Sync + 'static {
    /// What `socket` is joined to; `None` for a socket the directory does not know.
    fn rooms_of(&self, socket: &SocketRef) -> Option<SocketRooms>;
}
