//! Draining a node that shuts down: its clients are asked to move (`rtm:drain`), reconnect to
//! another node at once and resume their presence there, so nobody is seen leaving. The node waits
//! for them to go, up to the shutdown timeout.

use std::time::Duration;

use rtm_protocol::{events, fields};
use socketioxide::SocketIo;
use tokio::time::Instant;

/// How often the drain looks whether every socket has gone.
const POLL: Duration = Duration::from_millis(20);

/// What a drain did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drained {
    /// The sockets asked to move.
    pub(crate) asked: usize,
    /// Those still connected when the timeout passed.
    pub(crate) left_over: usize,
}

/// Sends `rtm:drain` to every socket of `io`, then waits until they have all gone or `timeout`
/// has passed.
pub(crate) async fn drain(io: &SocketIo, timeout: Duration) -> Drained {
    let asked = connected(io);
    if asked > 0 {
        tracing::info!(
            sockets = asked,
            timeout_ms = timeout.as_millis() as u64,
            "draining: asking clients to move to other nodes"
        );
        let data = serde_json::json!({ fields::REASON: "shutdown" });
        for socket in io.sockets() {
            if let Err(err) = socket.emit(events::DRAIN, &data) {
                tracing::debug!(sid = %socket.id, %err, "could not ask a socket to move");
            }
        }
    }
    let deadline = Instant::now() + timeout;
    let mut left_over = asked;
    while left_over > 0 && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        left_over = connected(io);
    }
    Drained { asked, left_over }
}

/// The sockets still connected (none once the namespace is closed).
fn connected(io: &SocketIo) -> usize {
    // Through `of`: `io.sockets()` panics once shutdown has closed the namespace.
    if io.of("/").is_some() {
        io.sockets().len()
    } else {
        0
    }
}
