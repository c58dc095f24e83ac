//! One socket's requests are handled in the order they arrived. socketioxide runs each event's
//! handler as its own task, so a `presence:leave` followed by a `presence:join` could reach the
//! store the other way round (others would see the join, then the leave). Each request takes a
//! numbered ticket when it arrives (synchronously, in arrival order) and waits for its turn
//! before it runs; different sockets never wait for each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use socketioxide::extract::SocketRef;
use tokio::sync::watch;

/// A socket's ticket dispenser and the number now being served.
#[derive(Clone)]
pub(crate) struct Turns(Arc<Inner>);

struct Inner {
    next: AtomicU64,
    serving: watch::Sender<u64>,
}

/// A place in the socket's queue; [`Ticket::wait`] must be awaited (or the queue stops).
pub(crate) struct Ticket {
    turns: Turns,
    number: u64,
}

/// The socket's turn: the next request runs once it is dropped.
pub(crate) struct Turn(Turns);

impl Turns {
    fn new() -> Self {
        Self(Arc::new(Inner {
            next: AtomicU64::new(0),
            serving: watch::Sender::new(0),
        }))
    }

    /// Gives `socket` its queue.
    pub(crate) fn attach(socket: &SocketRef) {
        socket.extensions.insert(Self::new());
    }

    /// A ticket for a request of `socket` that just arrived.
    pub(crate) fn ticket(socket: &SocketRef) -> Ticket {
        let turns = socket.extensions.get::<Self>().unwrap_or_else(Self::new);
        let number = turns.0.next.fetch_add(1, Ordering::SeqCst);
        Ticket { turns, number }
    }
}

impl Ticket {
    /// Waits until every earlier request of the socket is done.
    pub(crate) async fn wait(self) -> Turn {
        let mut serving = self.turns.0.serving.subscribe();
        // The sender lives in `self.turns`, so this cannot fail.
        let _ = serving.wait_for(|now| *now >= self.number).await;
        Turn(self.turns)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.0.serving.send_modify(|now| *now += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_run_in_ticket_order() {
        let turns = Turns::new();
        let take = || {
            let number = turns.0.next.fetch_add(1, Ordering::SeqCst);
            Ticket {
                turns: turns.clone(),
                number,
            }
        };
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tickets: Vec<Ticket> = (0..20).map(|_| take()).collect();
        // Spawned in reverse: each still runs in its ticket's order.
        let tasks: Vec<_> = tickets
            .into_iter()
            .enumerate()
            .rev()
            .map(|(i, ticket)| {
                let order = order.clone();
                tokio::spawn(async move {
                    let _turn = ticket.wait().await;
                    tokio::task::yield_now().await;
                    order.lock().unwrap().push(i);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }
}
