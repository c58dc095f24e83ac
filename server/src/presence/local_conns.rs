//! The sockets on this node by public connection id: the reaper's `leave` events name
//! connections by that id, and the node releases its own socket from the Socket.IO room. A socket
//! has its own id and the id of each entry it resumed; a resumed id moves to the resuming socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use socketioxide::socket::Sid;

/// Connection id → the Socket.IO socket on this node.
#[derive(Debug, Default)]
pub(crate) struct LocalConns(Mutex<HashMap<Arc<str>, Sid>>);

impl LocalConns {
    pub(crate) fn insert(&self, conn: Arc<str>, sid: Sid) {
        self.lock().insert(conn, sid);
    }

    /// Forgets `conn` if it is `sid`'s (a socket that resumed it since keeps it).
    pub(crate) fn remove(&self, conn: &str, sid: Sid) {
        let mut conns = self.lock();
        if conns.get(conn) == Some(&sid) {
            conns.remove(conn);
        }
    }

    pub(crate) fn get(&self, conn: &str) -> Option<Sid> {
        self.lock().get(conn).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Sid>> {
        self.0.lock().expect("local connections lock")
    }
}
