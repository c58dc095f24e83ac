//! This node's part of the backend API: which of its sockets belong to which user, and its
//! answers about them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use serde_json::value::to_raw_value;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;

use super::directory::{Directory, RoomEntry};
use super::wire::{Answer, Connection, LocalRoom, Question};
use crate::bus::emit_each;
use crate::net::departure::Departure;

/// The users a socket belongs to, kept in its extensions.
#[derive(Clone, Default)]
struct SocketUsers(Arc<Mutex<UsersOf>>);

#[derive(Default)]
struct UsersOf {
    users: Vec<Arc<str>>,
    /// The socket disconnected: it belongs to no one any more.
    gone: bool,
}

/// This node's sockets by user, and the presence directory.
pub(crate) struct Local {
    io: SocketIo,
    users: Mutex<HashMap<Arc<str>, HashSet<Sid>>>,
    directory: OnceLock<Arc<dyn Directory>>,
}

impl Local {
    pub(crate) fn new(io: SocketIo) -> Self {
        Self {
            io,
            users: Mutex::new(HashMap::new()),
            directory: OnceLock::new(),
        }
    }

    /// Sets the presence directory; false when one was set already.
    pub(crate) fn set_directory(&self, directory: Arc<dyn Directory>) -> bool {
        self.directory.set(directory).is_ok()
    }

    /// Starts tracking a new socket (before anything can claim it).
    pub(crate) fn attach(&self, socket: &SocketRef) {
        socket.extensions.insert(SocketUsers::default());
    }

    /// Records that `socket` belongs to `user`, until it disconnects.
    pub(crate) fn claim(&self, socket: &SocketRef, user: &str) {
        let Some(mine) = socket.extensions.get::<SocketUsers>() else {
            return;
        };
        // Both locks, in this order (as in `forget`): a disconnect cannot slip in between.
        let mut of = mine.0.lock().expect("socket users lock");
        if of.gone || of.users.iter().any(|u| **u == *user) {
            return;
        }
        of.users.push(user.into());
        self.lock()
            .entry(user.into())
            .or_default()
            .insert(socket.id);
    }

    /// Forgets `socket` (it disconnected); later claims are ignored.
    pub(crate) fn forget(&self, socket: &SocketRef) {
        let Some(mine) = socket.extensions.get::<SocketUsers>() else {
            return;
        };
        let mut of = mine.0.lock().expect("socket users lock");
        of.gone = true;
        let mut users = self.lock();
        for user in of.users.drain(..) {
            if let Some(sids) = users.get_mut(&user) {
                sids.remove(&socket.id);
                if sids.is_empty() {
                    users.remove(&user);
                }
            }
        }
    }

    /// The user's sockets on this node.
    fn sockets_of(&self, user: &str) -> Vec<SocketRef> {
        let sids: Vec<Sid> = self
            .lock()
            .get(user)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        // Through `of`: `io.get_socket` panics once shutdown has closed the namespace.
        let Some(namespace) = self.io.of("/") else {
            return Vec::new();
        };
        sids.into_iter()
            .filter_map(|sid| namespace.get_socket(sid))
            .collect()
    }

    /// Emits to each of the user's connections on this node.
    pub(crate) fn emit_to_user(&self, user: &str, event: &str, data: &Value) {
        let sockets = self.sockets_of(user);
        if let (false, Ok(data)) = (sockets.is_empty(), to_raw_value(data)) {
            emit_each(&sockets, event, &data, &format!("user {user}"));
        }
    }

    /// Emits to every connection on this node.
    pub(crate) fn broadcast(&self, event: &str, data: &Value) {
        if self.io.of("/").is_some()
            && let Ok(data) = to_raw_value(data)
        {
            emit_each(&self.io.sockets(), event, &data, "everyone");
        }
    }

    /// This node's answer to `question`.
    pub(crate) fn answer(&self, question: &Question) -> Answer {
        match question {
            Question::UserPresence { user } => Answer::Connections {
                connections: self
                    .sockets_of(user)
                    .iter()
                    .flat_map(|s| self.connections(s))
                    .collect(),
            },
            Question::Rooms { after, limit } => self.rooms(after.as_deref(), *limit),
            Question::DisconnectUser { user } => {
                let sockets = self.sockets_of(user);
                for socket in &sockets {
                    self.forget(socket);
                    Departure::mark_left(socket);
                    let _ = socket.clone().disconnect();
                }
                Answer::Disconnected {
                    count: sockets.len(),
                }
            }
        }
    }

    /// A socket's presence connections: each id its entries have (its own, or a resumed
    /// entry's) with their rooms, or its own id alone when it is in no room.
    fn connections(&self, socket: &SocketRef) -> Vec<Connection> {
        let Some(known) = self.directory.get().and_then(|d| d.rooms_of(socket)) else {
            return vec![Connection {
                conn_id: None,
                rooms: Vec::new(),
            }];
        };
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in known.rooms {
            by_id.entry(entry.conn_id).or_default().push(entry.room);
        }
        if by_id.is_empty() {
            by_id.insert(known.conn_id, Vec::new());
        }
        by_id
            .into_iter()
            .map(|(conn_id, rooms)| Connection {
                conn_id: Some(conn_id),
                rooms,
            })
            .collect()
    }

    /// The rooms with a member on this node after `after`, the first `limit` in byte order.
    fn rooms(&self, after: Option<&str>, limit: usize) -> Answer {
        let Some(directory) = self.directory.get() else {
            return Answer::Rooms {
                rooms: Vec::new(),
                more: false,
            };
        };
        let sockets = if self.io.of("/").is_some() {
            self.io.sockets()
        } else {
            Vec::new()
        };
        let mut rooms: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        for socket in &sockets {
            for RoomEntry { room, user, .. } in
                directory.rooms_of(socket).into_iter().flat_map(|r| r.rooms)
            {
                if after.is_some_and(|after| room.as_str() <= after) {
                    continue;
                }
                let entry = rooms.entry(room).or_default();
                entry.0 += 1;
                entry.1.insert(user);
            }
        }
        let more = rooms.len() > limit;
        let rooms = rooms
            .into_iter()
            .take(limit)
            .map(|(room, (connections, users))| LocalRoom {
                room,
                connections,
                users: users.into_iter().collect(),
            })
            .collect();
        Answer::Rooms { rooms, more }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, HashSet<Sid>>> {
        self.users.lock().expect("users lock")
    }
}
