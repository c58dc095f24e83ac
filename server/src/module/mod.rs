//! The module system: what a module is, what it is given, and the one pipeline every request
//! of every module goes through.
//!
//! A module is registered on a [`RealtimeServer`](crate::RealtimeServer) before it starts. At start
//! each module's [`Module::register`] runs once with its [`ModuleContext`] and adds the module's
//! request handlers to the server's table with [`ModuleContext::handle`]; then, for every socket
//! that connects, [`Module::on_connection`] runs (per-socket handlers, if a module needs them:
//! [`ModuleContext::on_request`]), and [`Module::on_disconnect`] when it goes. A socket's events
//! reach their handlers through one dispatcher ([`dispatch`]). Presence and chat are modules
//! like any other.
//!
//! A handler is its business logic only. The pipeline ([`pipeline`]) does the rest, once, in
//! this order: the socket's turn ([`turns`]), its rate limit ([`rate_limit`]), reading the
//! payload ([`payload`]) into the handler's request type ([`FromPayload`], with [`validate`]'s
//! limits), the request's span and metrics, and the ack (`{ok:true, ...}` or
//! `{ok:false, error, code}`).

mod context;
pub(crate) mod dispatch;
pub(crate) mod handler_table;
pub(crate) mod payload;
mod pipeline;
pub mod rate_limit;
mod request;
pub(crate) mod turns;
pub mod validate;

use async_trait::async_trait;
use socketioxide::extract::SocketRef;

pub use context::ModuleContext;
pub(crate) use context::Parts;
pub use request::FromPayload;

/// The error a module returns from [`Module::register`]; it stops the server from starting.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A pluggable unit of server functionality.
///
/// Its request handlers, added in [`Module::register`] with [`ModuleContext::handle`], answer
/// with an ack `{ok:true, ...}` or an [`AckError`](crate::AckError) (`{ok:false, error, code}`).
/// See `server/examples/custom_module.rs`.
#[async_trait]
pub trait Module: Send + Sync + 'static {
    /// A short name, used in logs.
    fn name(&self) -> &str;

    /// Runs once at start, before any socket connects: set up stores, background tasks, taps.
    async fn register(&self, ctx: &ModuleContext) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Runs for each connecting socket, before its first event: per-socket state, or handlers of
    /// its own ([`ModuleContext::on_request`]).
    fn on_connection(&self, socket: &SocketRef, ctx: &ModuleContext) {
        let _ = (socket, ctx);
    }

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
