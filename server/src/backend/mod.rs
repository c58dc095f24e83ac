//! What the app's backend can do, across every node: emit to a user, a room or everyone; ask who
//! is online and which rooms are active; disconnect a user. The HTTP API (`/api/...`) and modules
//! (through [`ModuleContext`](crate::ModuleContext)) share this one implementation.
//!
//! On Redis, emits travel on `rtm:srv` (each node emits to its own connections, so each
//! connection gets the event once) and questions are answered by every node listening there,
//! each for its own connections, on the asking node's `rtm:node:{id}` channel.

mod directory;
pub mod event_name;
mod this_node;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use directory::{Directory, RoomEntry, SocketRooms};
use this_node::Local;
pub use wire::Connection;
use wire::{Answer, Control, LocalRoom, Question, node_channel, server_channel};

use crate::bus::{Bus, BusMessage};
use crate::error::{AckError, ErrorCode, store_error};
use crate::redis::RedisConnection;

/// Where a user is connected: the answer of [`Backend::user_presence`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPresence {
    /// Whether the user has any connection.
    pub online: bool,
    /// Each connection, on any node.
    pub connections: Vec<Connection>,
}

/// An active room: one with a member on some node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    /// The room.
    pub room_id: String,
    /// How many connections are joined to it.
    pub connections: usize,
    /// How many distinct users they are.
    pub users: usize,
}

/// One page of active rooms, in byte order of their ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomsPage {
    /// The rooms on this page.
    pub rooms: Vec<RoomSummary>,
    /// Pass it as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// The most rooms one page lists.
pub const MAX_ROOMS_PAGE: usize = 1000;

/// The backend API's handle; cheap to clone.
#[derive(Clone)]
pub struct Backend(Arc<Inner>);

struct Inner {
    local: Local,
    redis: Option<RedisConnection>,
    bus: Bus,
    node_id: Arc<str>,
    /// Questions in flight: their id → where their answers go.
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<Answer>>>,
    /// How long a question waits for every node.
    timeout: Duration,
    /// The largest serialized `data` an emit may carry.
    max_data_bytes: usize,
}

impl Backend {
    pub(crate) fn new(
        io: SocketIo,
        redis: Option<RedisConnection>,
        bus: Bus,
        node_id: Arc<str>,
        timeout: Duration,
        max_data_bytes: usize,
    ) -> Self {
        Self(Arc::new(Inner {
            local: Local::new(io),
            redis,
            bus,
            node_id,
            pending: Mutex::new(HashMap::new()),
            timeout,
            max_data_bytes,
        }))
    }

    /// The control channels the bus must listen on for `node`.
    pub(crate) fn channels(node: &str) -> Vec<String> {
        vec![server_channel(), node_channel(node)]
    }

    /// Handles what arrives on the control channels until the bus stops.
    pub(crate) fn listen(&self, mut control: mpsc::UnboundedReceiver<Vec<u8>>) -> JoinHandle<()> {
        let backend = self.clone();
        tokio::spawn(async move {
            while let Some(payload) = control.recv().await {
                match serde_json::from_slice::<Control>(&payload) {
                    Ok(message) => backend.handle(message),
                    Err(err) => tracing::warn!(%err, "ignoring a malformed control message"),
                }
            }
        })
    }

    fn handle(&self, message: Control) {
        match message {
            Control::EmitUser { user, event, data } => {
                self.0.local.emit_to_user(&user, &event, &data);
            }
            Control::Broadcast { event, data } => self.0.local.broadcast(&event, &data),
            Control::Ask {
                id,
                reply_to,
                question,
            } => {
                let answer = self.0.local.answer(&question);
                let backend = self.clone();
                tokio::spawn(async move {
                    let reply = Control::Answer { id, answer };
                    if let Err(err) = backend.publish(&node_channel(&reply_to), &reply).await {
                        tracing::warn!(%err, "answering another node failed");
                    }
                });
            }
            Control::Answer { id, answer } => {
                let pending = self.0.pending.lock().expect("pending lock");
                if let Some(waiting) = pending.get(&id) {
                    let _ = waiting.send(answer);
                }
            }
        }
    }

    /// Sets the presence directory that tells which rooms a socket is in (the presence module
    /// does, at start); false when one was set already.
    pub fn set_directory(&self, directory: Arc<dyn Directory>) -> bool {
        self.0.local.set_directory(directory)
    }

    /// Starts tracking a socket that is being admitted.
    pub(crate) fn attach(&self, socket: &SocketRef) {
        self.0.local.attach(socket);
    }

    /// Records that `socket` belongs to `user` (its token's subject, or, without tokens, a
    /// user it joined a room as) until it disconnects.
    pub fn claim_user(&self, socket: &SocketRef, user: &str) {
        self.0.local.claim(socket, user);
    }

    /// Forgets a socket that disconnected.
    pub(crate) fn forget(&self, socket: &SocketRef) {
        self.0.local.forget(socket);
    }

    /// Emits `event` to every connection of `user`, on every node, once each.
    pub async fn emit_to_user(&self, user: &str, event: &str, data: Value) -> Result<(), AckError> {
        self.check(event, &data)?;
        let (user, event) = (user.to_string(), event.to_string());
        match self.0.redis {
            Some(_) => {
                let message = Control::EmitUser { user, event, data };
                self.publish(&server_channel(), &message)
                    .await
                    .map_err(|e| store_error("emit to a user", &e))
            }
            None => {
                self.0.local.emit_to_user(&user, &event, &data);
                Ok(())
            }
        }
    }

    /// Emits `event` to every member of `room`, on every node, once each.
    pub async fn emit_to_room(&self, room: &str, event: &str, data: Value) -> Result<(), AckError> {
        self.check(event, &data)?;
        let message = BusMessage {
            room: room.to_string(),
            event: event.to_string(),
            data,
        };
        self.0
            .bus
            .publish(message)
            .await
            .map_err(|e| store_error("emit to a room", &e))
    }

    /// Emits `event` to every connection, on every node.
    pub async fn broadcast(&self, event: &str, data: Value) -> Result<(), AckError> {
        self.check(event, &data)?;
        match self.0.redis {
            Some(_) => {
                let message = Control::Broadcast {
                    event: event.to_string(),
                    data,
                };
                self.publish(&server_channel(), &message)
                    .await
                    .map_err(|e| store_error("broadcast", &e))
            }
            None => {
                self.0.local.broadcast(event, &data);
                Ok(())
            }
        }
    }

    /// The connections of `user`, on every node.
    pub async fn user_presence(&self, user: &str) -> Result<UserPresence, AckError> {
        let question = Question::UserPresence {
            user: user.to_string(),
        };
        let mut connections = Vec::new();
        for answer in self.ask(question).await? {
            if let Answer::Connections { connections: more } = answer {
                connections.extend(more);
            }
        }
        Ok(UserPresence {
            online: !connections.is_empty(),
            connections,
        })
    }

    /// Active rooms after `cursor` (a previous page's `next_cursor`), at most `limit` (1 to
    /// [`MAX_ROOMS_PAGE`]), with their members on every node.
    pub async fn rooms(&self, limit: usize, cursor: Option<&str>) -> Result<RoomsPage, AckError> {
        let limit = limit.clamp(1, MAX_ROOMS_PAGE);
        let question = Question::Rooms {
            after: cursor.map(str::to_string),
            limit,
        };
        let mut merged: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        let mut more = false;
        for answer in self.ask(question).await? {
            if let Answer::Rooms { rooms, more: m } = answer {
                more |= m;
                for LocalRoom {
                    room,
                    connections,
                    users,
                } in rooms
                {
                    let entry = merged.entry(room).or_default();
                    entry.0 += connections;
                    entry.1.extend(users);
                }
            }
        }
        // Each node sent its first `limit` rooms: the first `limit` of their union are the
        // first `limit` overall, each with every node's members.
        more |= merged.len() > limit;
        let rooms: Vec<RoomSummary> = merged
            .into_iter()
            .take(limit)
            .map(|(room_id, (connections, users))| RoomSummary {
                room_id,
                connections,
                users: users.len(),
            })
            .collect();
        let next_cursor = if more {
            rooms.last().map(|r| r.room_id.clone())
        } else {
            None
        };
        Ok(RoomsPage { rooms, next_cursor })
    }

    /// Disconnects every connection of `user`, on every node; returns how many there were.
    /// Their presence leaves are announced at once, as for any disconnect.
    pub async fn disconnect_user(&self, user: &str) -> Result<usize, AckError> {
        let question = Question::DisconnectUser {
            user: user.to_string(),
        };
        Ok(self
            .ask(question)
            .await?
            .into_iter()
            .map(|answer| match answer {
                Answer::Disconnected { count } => count,
                _ => 0,
            })
            .sum())
    }

    /// Refuses reserved event names and oversized data.
    fn check(&self, event: &str, data: &Value) -> Result<(), AckError> {
        event_name::check(event)?;
        let size = serde_json::to_string(data).map_or(0, |s| s.len());
        if size > self.0.max_data_bytes {
            return Err(AckError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "data must be at most {} bytes of JSON",
                    self.0.max_data_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Asks every node (on the in-memory store: this one) and collects their answers; fails
    /// with `unavailable` when a node does not answer within the timeout.
    async fn ask(&self, question: Question) -> Result<Vec<Answer>, AckError> {
        let Some(redis) = &self.0.redis else {
            return Ok(vec![self.0.local.answer(&question)]);
        };
        let mut conn = redis.conn.clone();
        let listening: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(server_channel())
            .query_async(&mut conn)
            .await
            .map_err(|e| store_error("counting nodes", &e))?;
        let nodes = listening.first().map_or(0, |(_, n)| *n);
        if nodes == 0 {
            return Err(AckError::new(
                ErrorCode::Unavailable,
                "no node is listening (the bus is reconnecting), try again",
            ));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _pending = PendingGuard::insert(self, &id, tx);
        let ask = Control::Ask {
            id: id.clone(),
            reply_to: self.0.node_id.to_string(),
            question,
        };
        self.publish(&server_channel(), &ask)
            .await
            .map_err(|e| store_error("asking the nodes", &e))?;
        let mut answers = Vec::with_capacity(nodes);
        let collect = async {
            while answers.len() < nodes {
                match rx.recv().await {
                    Some(answer) => answers.push(answer),
                    None => break,
                }
            }
        };
        if tokio::time::timeout(self.0.timeout, collect).await.is_err() {
            return Err(AckError::new(
                ErrorCode::Unavailable,
                format!(
                    "{} of {nodes} nodes answered within {} ms, try again",
                    answers.len(),
                    self.0.timeout.as_millis()
                ),
            ));
        }
        Ok(answers)
    }

    async fn publish(&self, channel: &str, message: &Control) -> Result<(), redis::RedisError> {
        let Some(redis) = &self.0.redis else {
            return Ok(());
        };
        let payload = serde_json::to_string(message).expect("a control message serializes");
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload)
            .exec_async(&mut redis.conn.clone())
            .await
    }
}

/// Removes a question from the pending ones when it is done, however it ends.
struct PendingGuard<'a> {
    backend: &'a Backend,
    id: String,
}

impl<'a> PendingGuard<'a> {
    fn insert(backend: &'a Backend, id: &str, tx: mpsc::UnboundedSender<Answer>) -> Self {
        let mut pending = backend.0.pending.lock().expect("pending lock");
        pending.insert(id.to_string(), tx);
        Self {
            backend,
            id: id.to_string(),
        }
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let mut pending = self.backend.0.pending.lock().expect("pending lock");
        pending.remove(&self.id);
    }
}
