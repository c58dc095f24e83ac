//! Which presence rooms a socket is joined to, kept in its extensions on the node it is on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use socketioxide::extract::SocketRef;

/// A socket's presence in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The user it joined as.
    pub user_id: String,
    /// Its epoch in that room.
    pub epoch: u64,
}

/// The rooms a socket is joined to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Membership(Arc<Mutex<HashMap<String, Joined>>>);

impl Membership {
    /// The socket's membership (empty for a socket presence has not seen).
    pub(crate) fn of(socket: &SocketRef) -> Self {
        socket.extensions.get::<Self>().unwrap_or_default()
    }

    /// Gives `socket` an empty membership.
    pub(crate) fn attach(socket: &SocketRef) {
        socket.extensions.insert(Self::default());
    }

    pub(crate) fn get(&self, room: &str) -> Option<Joined> {
        self.lock().get(room).cloned()
    }

    pub(crate) fn rooms(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub(crate) fn insert(&self, room: String, joined: Joined) {
        self.lock().insert(room, joined);
    }

    pub(crate) fn remove(&self, room: &str) -> Option<Joined> {
        self.lock().remove(room)
    }

    /// Removes the room only if the socket's epoch there is `epoch` (a newer join stays).
    pub(crate) fn remove_epoch(&self, room: &str, epoch: u64) -> bool {
        let mut rooms = self.lock();
        if rooms.get(room).is_some_and(|j| j.epoch == epoch) {
            rooms.remove(room);
            true
        } else {
            false
        }
    }

    pub(crate) fn take_all(&self) -> Vec<String> {
        self.lock().drain().map(|(room, _)| room).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Joined>> {
        self.0.lock().expect("membership lock")
    }
}
