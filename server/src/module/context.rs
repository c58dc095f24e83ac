//! [`ModuleContext`]: what a module is given (Socket.IO, Redis, the bus, the backend API,
//! limits, a span) and what its handlers ask of the server (the socket's user and rooms, the
//! cluster-wide operations).

use std::sync::Arc;

use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;

use super::handler_table::HandlerTable;
use super::validate::Limits;
use crate::auth::{AuthRooms, AuthUser};
use crate::backend::{Backend, RoomsPage, UserPresence};
use crate::bus::Bus;
use crate::error::AckError;
use crate::metrics::Metrics;
use crate::redis::RedisConnection;
use crate::storage::Storage;

/// What a module is given: direct access to Socket.IO and Redis, the bus, limits and a logger.
/// Cloning it is one reference count: each socket's handlers hold a clone.
#[derive(Clone)]
pub struct ModuleContext(Arc<Parts>);

/// What a [`ModuleContext`] holds.
pub(crate) struct Parts {
    pub(crate) io: SocketIo,
    pub(crate) redis: Option<RedisConnection>,
    pub(crate) bus: Bus,
    pub(crate) backend: Backend,
    pub(crate) storage: Storage,
    pub(crate) node_id: Arc<str>,
    pub(crate) limits: Limits,
    pub(crate) span: tracing::Span,
    pub(crate) metrics: Metrics,
    /// The server's request handlers (shared by every module's context).
    pub(crate) handlers: Arc<HandlerTable>,
}

impl ModuleContext {
    pub(crate) fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }

    /// The socketioxide handle, for anything Socket.IO offers.
    pub fn io(&self) -> &SocketIo {
        &self.0.io
    }

    /// The shared Redis connection, when the server runs on Redis; `None` on the in-memory store.
    pub fn redis(&self) -> Option<&RedisConnection> {
        self.0.redis.as_ref()
    }

    /// The bus: broadcast to a room on every node, exactly once per member.
    pub fn bus(&self) -> &Bus {
        &self.0.bus
    }

    /// This node's id (unique per process).
    pub fn node_id(&self) -> &str {
        &self.0.node_id
    }

    /// The input limits the server was configured with.
    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The module's logging span: enter it, or use it as the parent of the module's spans.
    pub fn span(&self) -> &tracing::Span {
        &self.0.span
    }

    /// The server's request handlers.
    pub(crate) fn handlers(&self) -> &HandlerTable {
        &self.0.handlers
    }

    /// The server's metrics.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The user the socket authenticated as, when the server requires tokens.
    pub fn auth_user(&self, socket: &SocketRef) -> Option<Arc<str>> {
        socket.extensions.get::<AuthUser>().map(|u| u.0)
    }

    /// Whether the socket's token allows `room` (its `rooms` claim); always true without tokens
    /// or without the claim.
    pub fn may_use_room(&self, socket: &SocketRef, room: &str) -> bool {
        socket
            .extensions
            .get::<AuthRooms>()
            .is_none_or(|allowed| allowed.0.allows(room))
    }

    /// The backend API: what [`emit_to_user`](Self::emit_to_user) and the other cluster-wide
    /// operations below call.
    pub fn backend(&self) -> &Backend {
        &self.0.backend
    }

    /// Room storage: read, write (with compare-and-set) and delete a room's keys, announced to
    /// its members like a client's writes (with `userId: null` when the writer is `None`).
    pub fn storage(&self) -> &Storage {
        &self.0.storage
    }

    /// Emits `event` to every connection of `user`, on every node, once each.
    pub async fn emit_to_user(&self, user: &str, event: &str, data: Value) -> Result<(), AckError> {
        self.0.backend.emit_to_user(user, event, data).await
    }

    /// Emits `event` to every member of `room`, on every node, once each.
    pub async fn emit_to_room(&self, room: &str, event: &str, data: Value) -> Result<(), AckError> {
        self.0.backend.emit_to_room(room, event, data).await
    }

    /// Emits `event` to every connection, on every node.
    pub async fn broadcast(&self, event: &str, data: Value) -> Result<(), AckError> {
        self.0.backend.broadcast(event, data).await
    }

    /// Where `user` is connected, on every node.
    pub async fn user_presence(&self, user: &str) -> Result<UserPresence, AckError> {
        self.0.backend.user_presence(user).await
    }

    /// A page of active rooms (see [`Backend::rooms`]).
    pub async fn rooms(&self, limit: usize, cursor: Option<&str>) -> Result<RoomsPage, AckError> {
        self.0.backend.rooms(limit, cursor).await
    }

    /// Disconnects every connection of `user`, on every node; returns how many there were.
    pub async fn disconnect_user(&self, user: &str) -> Result<usize, AckError> {
        self.0.backend.disconnect_user(user).await
    }
}
