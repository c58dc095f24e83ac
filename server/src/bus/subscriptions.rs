//! This node's subscriptions to room channels (Redis only): reference-counted by the local
//! sockets in each room, and batched, so that a join storm is one `SUBSCRIBE` per batch (per
//! slot in a cluster), not one per join; a room's channel is dropped a little after its last
//! local socket left, so that a quick leave and rejoin does not churn.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::redis::Subscriber;
use crate::redis::keys;

/// How long a room's channel stays subscribed after its last local socket left.
const LINGER: Duration = Duration::from_secs(2);

/// How long a join waits for its room's subscription before it fails.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The subscriptions; cheap to clone.
#[derive(Clone)]
pub(crate) struct Subscriptions(Arc<Shared>);

struct Shared {
    rooms: Mutex<HashMap<String, Entry>>,
    changes: mpsc::UnboundedSender<Change>,
    metrics: Metrics,
}

struct Entry {
    /// Local sockets in the room.
    refs: usize,
    state: State,
}

enum State {
    /// Asked for; who waits for the confirmation.
    Pending(Vec<oneshot::Sender<Result<(), String>>>),
    /// Subscribed.
    Active,
    /// Subscribed, but the connection was lost since: once resubscribed, resync the room.
    Stale,
}

enum Change {
    Subscribe(String),
    Unsubscribe(String),
}

impl Subscriptions {
    /// Subscriptions carried out on `subscriber` by the returned task.
    pub(crate) fn start(subscriber: Subscriber, metrics: Metrics) -> (Self, JoinHandle<()>) {
        let (changes, rx) = mpsc::unbounded_channel();
        let this = Self(Arc::new(Shared {
            rooms: Mutex::new(HashMap::new()),
            changes,
            metrics,
        }));
        let task = tokio::spawn(this.clone().work(subscriber, rx));
        (this, task)
    }

    /// One more local socket in `room`; returns once the room's channel is subscribed.
    pub(crate) async fn add(&self, room: &str) -> Result<(), redis::RedisError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut rooms = self.lock();
            match rooms.get_mut(room) {
                Some(entry) => {
                    entry.refs += 1;
                    match &mut entry.state {
                        State::Active | State::Stale => return Ok(()),
                        State::Pending(waiters) => waiters.push(tx),
                    }
                }
                None => {
                    let state = State::Pending(vec![tx]);
                    rooms.insert(room.to_string(), Entry { refs: 1, state });
                    let _ = self.0.changes.send(Change::Subscribe(room.to_string()));
                }
            }
        }
        let failed = |why: String| {
            self.remove(room);
            redis::RedisError::from(std::io::Error::other(why))
        };
        match tokio::time::timeout(SUBSCRIBE_TIMEOUT, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(why))) => Err(redis::RedisError::from(std::io::Error::other(why))),
            Ok(Err(_)) => Err(failed("the bus stopped".into())),
            Err(_) => Err(failed("subscribing to the room's channel timed out".into())),
        }
    }

    /// One local socket fewer in `room`; its channel goes after [`LINGER`] if none came back.
    pub(crate) fn remove(&self, room: &str) {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(room) else {
            return;
        };
        entry.refs = entry.refs.saturating_sub(1);
        if entry.refs == 0 {
            self.unsubscribe_later(room);
        }
    }

    /// Asks, [`LINGER`] from now, for `room`'s channel to go (it stays if a socket came back).
    fn unsubscribe_later(&self, room: &str) {
        let changes = self.0.changes.clone();
        let room = room.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(LINGER).await;
            let _ = changes.send(Change::Unsubscribe(room));
        });
    }

    /// The subscriber's connection was lost: every subscribed room is stale until its channel
    /// is resubscribed. Returns how many rooms that is.
    pub(crate) fn lost(&self) -> usize {
        let mut rooms = self.lock();
        let mut count = 0;
        for entry in rooms.values_mut() {
            if matches!(entry.state, State::Active) {
                entry.state = State::Stale;
                count += 1;
            }
        }
        count
    }

    /// A subscription to `room`'s channel was confirmed by Redis; true when the room was stale
    /// (it was resubscribed after a loss: resync it).
    pub(crate) fn confirmed(&self, room: &str) -> bool {
        let mut rooms = self.lock();
        match rooms.get_mut(room) {
            Some(entry) if matches!(entry.state, State::Stale) => {
                entry.state = State::Active;
                true
            }
            _ => false,
        }
    }

    /// Carries out the changes, a batch at a time.
    async fn work(self, mut subscriber: Subscriber, mut rx: mpsc::UnboundedReceiver<Change>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let (subscribe, unsubscribe) = self.plan(batch);
            for channels in unsubscribe.values() {
                if let Err(err) = subscriber.unsubscribe_rooms(channels).await {
                    tracing::debug!(%err, "unsubscribing from room channels failed");
                }
            }
            for rooms in subscribe.values() {
                let channels: Vec<String> = rooms.iter().map(|r| keys::room_channel(r)).collect();
                let result = subscriber.subscribe_rooms(&channels).await;
                self.settle(rooms, result.map_err(|e| e.to_string()));
            }
            let count = self.lock().len();
            self.0.metrics.bus_room_channels(count);
        }
    }

    /// What a batch comes to, grouped by bucket (one cluster slot each): rooms to subscribe
    /// (still wanted), and channels to unsubscribe (rooms still without a local socket, which
    /// are forgotten here).
    fn plan(&self, batch: Vec<Change>) -> (Groups, Groups) {
        let mut rooms = self.lock();
        let (mut subscribe, mut unsubscribe) = (Groups::new(), Groups::new());
        for change in batch {
            match change {
                Change::Subscribe(room) => {
                    if matches!(
                        rooms.get(&room),
                        Some(Entry {
                            state: State::Pending(_),
                            ..
                        })
                    ) {
                        let group = subscribe.entry(keys::bucket(&room)).or_default();
                        if !group.contains(&room) {
                            group.push(room);
                        }
                    }
                }
                Change::Unsubscribe(room) => {
                    let idle = rooms.get(&room).is_some_and(|e| {
                        e.refs == 0 && matches!(e.state, State::Active | State::Stale)
                    });
                    if idle {
                        rooms.remove(&room);
                        let channel = keys::room_channel(&room);
                        unsubscribe
                            .entry(keys::bucket(&room))
                            .or_default()
                            .push(channel);
                    }
                }
            }
        }
        (subscribe, unsubscribe)
    }

    /// Tells those waiting for `rooms` how their subscription went.
    fn settle(&self, rooms: &[String], result: Result<(), String>) {
        let mut map = self.lock();
        for room in rooms {
            let Some(entry) = map.get_mut(room) else {
                continue;
            };
            let waiters = match std::mem::replace(&mut entry.state, State::Active) {
                State::Pending(waiters) => waiters,
                other => {
                    entry.state = other;
                    continue;
                }
            };
            if result.is_err() {
                // Every reference was a waiter: they all fail, and the room is forgotten.
                map.remove(room);
            } else if entry.refs == 0 {
                // Its waiters gave up meanwhile: it goes like any room nobody is in.
                self.unsubscribe_later(room);
            }
            for waiter in waiters {
                let _ = waiter.send(result.clone());
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.rooms.lock().expect("subscriptions lock")
    }
}

/// Rooms (or channels) by bucket.
type Groups = BTreeMap<u32, Vec<String>>;
