//! A socket's presence on the node it is on: its own public connection id, the rooms it is
//! joined to (each with the connection id of its entry there: its own, or a resumed entry's), and
//! whether it has gone. Kept in the socket's extensions.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rtm_protocol::wire::PresenceLevel;
use socketioxide::extract::SocketRef;

/// A socket's presence in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The user it joined as.
    pub user_id: String,
    /// Its epoch in that room.
    pub epoch: u64,
    /// The connection id of its entry in that room.
    pub conn_id: Arc<str>,
    /// What it receives of the room's presence.
    pub level: PresenceLevel,
}

/// The presence of one socket.
#[derive(Debug, Clone)]
pub(crate) struct Membership(Arc<Mutex<Inner>>);

#[derive(Debug)]
struct Inner {
    conn_id: Arc<str>,
    rooms: HashMap<String, Joined>,
    /// Rooms whose join is in flight: they count against the room limit already.
    joining: HashSet<String>,
    /// The socket is gone: nothing may join any more.
    closed: bool,
}

impl Default for Membership {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Inner {
            conn_id: new_conn_id(),
            rooms: HashMap::new(),
            joining: HashSet::new(),
            closed: false,
        })))
    }
}

/// A connection's public id: random, and unrelated to any transport session id. Everyone in a
/// room reads it (snapshots, events, REST), so it must not let anyone act as the connection; the
/// Engine.IO session id would (a polling request with `sid=` speaks for the socket).
fn new_conn_id() -> Arc<str> {
    uuid::Uuid::new_v4().simple().to_string().into()
}

impl Membership {
    /// The socket's membership (a closed, empty one for a socket presence has not seen).
    pub(crate) fn of(socket: &SocketRef) -> Self {
        socket.extensions.get::<Self>().unwrap_or_else(|| {
            let none = Self::default();
            none.lock().closed = true;
            none
        })
    }

    /// Gives `socket` a new connection id and no rooms; returns it.
    pub(crate) fn attach(socket: &SocketRef) -> Self {
        let membership = Self::default();
        socket.extensions.insert(membership.clone());
        membership
    }

    /// The socket's own public connection id (its entries use it unless resumed).
    pub(crate) fn conn_id(&self) -> Arc<str> {
        self.lock().conn_id.clone()
    }

    pub(crate) fn get(&self, room: &str) -> Option<Joined> {
        self.lock().rooms.get(room).cloned()
    }

    /// Each room joined, with how.
    pub(crate) fn joined_rooms(&self) -> Vec<(String, Joined)> {
        let inner = self.lock();
        inner
            .rooms
            .iter()
            .map(|(room, joined)| (room.clone(), joined.clone()))
            .collect()
    }

    pub(crate) fn rooms(&self) -> Vec<String> {
        self.lock().rooms.keys().cloned().collect()
    }

    /// Takes a place for a join of `room` under the limit of `max` rooms (joins in flight count:
    /// a client cannot pass the limit by sending many joins at once); false when there is none.
    /// A room the socket is in, or joining, takes no new place.
    pub(crate) fn reserve(&self, room: &str, max: usize) -> bool {
        let mut inner = self.lock();
        if inner.rooms.contains_key(room) || inner.joining.contains(room) {
            return true;
        }
        if inner.rooms.len() + inner.joining.len() >= max {
            return false;
        }
        inner.joining.insert(room.to_string());
        true
    }

    /// Records a join; false when the socket has gone meanwhile (the caller undoes the join).
    pub(crate) fn insert(&self, room: String, joined: Joined) -> bool {
        let mut inner = self.lock();
        inner.joining.remove(&room);
        if inner.closed {
            return false;
        }
        inner.rooms.insert(room, joined);
        true
    }

    /// Forgets the room, joined or reserved.
    pub(crate) fn remove(&self, room: &str) -> Option<Joined> {
        let mut inner = self.lock();
        inner.joining.remove(room);
        inner.rooms.remove(room)
    }

    /// Removes the room only if the socket's epoch there is `epoch` (a newer join stays).
    pub(crate) fn remove_epoch(&self, room: &str, epoch: u64) -> bool {
        let mut inner = self.lock();
        if inner.rooms.get(room).is_some_and(|j| j.epoch == epoch) {
            inner.rooms.remove(room);
            true
        } else {
            false
        }
    }

    /// The socket is gone: returns its rooms, and refuses every later join.
    pub(crate) fn close(&self) -> Vec<(String, Joined)> {
        let mut inner = self.lock();
        inner.closed = true;
        inner.rooms.drain().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().expect("membership lock")
    }
}
