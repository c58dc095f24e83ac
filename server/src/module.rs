//! The module system: what a module is, and what it is given.
//!
//! A module is registered on a [`RealtimeServer`](crate::RealtimeServer) before it starts. At start
//! each module's [`Module::register`] runs once with its [`ModuleContext`]; then, for every socket
//! that connects, [`Module::on_connection`] attaches the module's event handlers, and
//! [`Module::on_disconnect`] runs when it goes. Presence and chat are modules like any other.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef};

use crate::auth::{AuthRooms, AuthUser};
use crate::backend::{Backend, RoomsPage, UserPresence};
use crate::bus::Bus;
use crate::error::{AckError, send_ack};
use crate::metrics::Metrics;
use crate::payload::JsonArg;
use crate::redis_backend::RedisBackend;
use crate::turns::Turns;
use crate::validate::Limits;

/// The error a module returns from [`Module::register`]; it stops the server from starting.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use crate::payload::Payload;

/// A pluggable unit of server functionality.
///
/// Handlers attached in [`Module::on_connection`] answer with an ack `{ok:true, ...}` or an
/// [`AckError`] (`{ok:false, error, code}`). See `server/examples/custom_module.rs`.
#[async_trait]
pub trait Module: Send + Sync + 'static {
    /// A short name, used in logs.
    fn name(&self) -> &str;

    /// Runs once at start, before any socket connects: set up stores, background tasks, taps.
    async fn register(&self, ctx: &ModuleContext) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Runs for each connecting socket: attach event handlers with `socket.on(...)`.
    fn on_connection(&self, socket: &SocketRef, ctx: &ModuleContext);

    /// Runs when a socket goes (disconnect, or server shutdown). The server awaits it.
    /// [`crate::Departure::of`] says how it went: on purpose (announce at once) or lost (it may
    /// come back and resume: presence keeps its entries for the grace).
    async fn on_disconnect(&self, socket: &SocketRef, ctx: &ModuleContext) {
        let _ = (socket, ctx);
    }

    /// HTTP routes of the module, merged into the server's router.
    fn routes(&self, ctx: &ModuleContext) -> Option<axum::Router> {
        let _ = ctx;
        None
    }

    /// Runs once at shutdown, modules in reverse order of registration.
    async fn on_shutdown(&self) {}
}

/// What a module is given: direct access to Socket.IO and Redis, the bus, limits and a logger.
/// Cloning it is one reference count: each socket's handlers hold a clone.
#[derive(Clone)]
pub struct ModuleContext(Arc<Parts>);

/// What a [`ModuleContext`] holds.
pub(crate) struct Parts {
    pub(crate) io: SocketIo,
    pub(crate) redis: Option<RedisBackend>,
    pub(crate) bus: Bus,
    pub(crate) backend: Backend,
    pub(crate) node_id: Arc<str>,
    pub(crate) limits: Limits,
    pub(crate) span: tracing::Span,
    pub(crate) metrics: Metrics,
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
    pub fn redis(&self) -> Option<&RedisBackend> {
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

    /// The server's metrics.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Counts one request against the socket's rate limit; `rate_limited` when over it.
    pub fn check_rate(&self, socket: &SocketRef) -> Result<(), AckError> {
        crate::rate_limit::check(socket)
    }

    /// Attaches a request handler for `event`: the client's payload in (`Err` when it could not be
    /// decoded), the ack out: `Ok(value)` is sent as is, `Err` as `{ok:false, error, code}`.
    /// `state` is cloned into each call. A socket's requests (to any module) run one at a time,
    /// in the order they arrived.
    pub fn on_request<S, F, Fut>(
        &self,
        socket: &SocketRef,
        event: &'static str,
        state: S,
        handler: F,
    ) where
        S: Clone + Send + Sync + 'static,
        F: Fn(S, ModuleContext, SocketRef, Payload) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, AckError>> + Send + 'static,
    {
        let ctx = self.clone();
        let requests = self.0.metrics.requests(event);
        socket.on(
            event,
            move |socket: SocketRef, JsonArg(data): JsonArg, ack: AckSender| {
                // Taken now, in arrival order: the socket's requests run one after the other.
                let ticket = Turns::ticket(&socket);
                let (handler, state, ctx) = (handler.clone(), state.clone(), ctx.clone());
                let requests = requests.clone();
                async move {
                    let _turn = ticket.wait().await;
                    let span = requests.span(&data);
                    let handled = handler(state, ctx, socket.clone(), data);
                    let result = requests.observe(span, handled).await;
                    send_ack(&socket, ack, result);
                }
            },
        );
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
