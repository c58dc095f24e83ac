//! The rtm reference server: a Socket.IO server (socketioxide) with a module system. Presence is
//! the built-in module, chat the worked example of a custom one. State lives in memory (one node,
//! zero setup) or in Redis (several nodes acting as one).
//!
//! The wire protocol is in `docs/protocol.md` (and, as types, in the `rtm-protocol` crate); how
//! to write a module is in `server/examples/custom_module.rs`; the layers below, one way down,
//! are drawn in `docs/architecture.md`:
//!
//! | layer | modules |
//! |---|---|
//! | entry points | `server` (start, connect, stop), `config` |
//! | HTTP | [`http`]: the router, `/metrics`, the backend API, Origin checks |
//! | modules | [`presence`], [`chat`], [`storage_module`] (room storage's requests) |
//! | module system | [`module`]: `Module`, `ModuleContext`, the request pipeline |
//! | cluster-wide | [`backend`] (the app's backend API), [`storage`] (room storage), [`bus`] (room broadcast) |
//! | infrastructure | [`auth`], [`redis`], [`net`] |
//! | leaves | [`error`], `metrics` |

pub mod auth;
pub mod backend;
pub mod bus;
pub mod chat;
pub mod config;
pub mod error;
mod http;
mod metrics;
pub mod module;
pub mod net;
pub mod presence;
pub mod redis;
mod server;
pub mod storage;
pub mod storage_module;

#[cfg(test)]
mod fuzz;

pub use config::Config;
pub use error::{AckError, ErrorCode};
pub use module::{BoxError, FromPayload, Module, ModuleContext};
pub use net::departure::Departure;
pub use net::signal::shutdown_signal;
pub use redis::RedisConnection;
pub use server::{RealtimeServer, ServerHandle, StartError};
pub use storage::Storage;
pub use storage_module::StorageModule;
