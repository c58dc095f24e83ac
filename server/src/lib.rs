//! The rtm reference server: a Socket.IO server (socketioxide) with a module system. Presence is
//! the built-in module, chat the worked example of a custom one. State lives in memory (one node,
//! zero setup) or in Redis (several nodes acting as one).
//!
//! The wire protocol is in `docs/protocol.md`; how to write a module is in
//! `server/examples/custom_module.rs`.

mod api;
mod api_keys;
pub mod auth;
pub mod backend;
pub mod bus;
pub mod caller;
pub mod chat;
mod client_ip;
pub mod config;
mod departure;
mod drain;
pub mod error;
mod http;
pub mod keys;
mod listen;
mod metrics;
pub mod module;
mod origin;
mod payload;
pub mod presence;
pub mod rate_limit;
pub mod redis_backend;
mod request_head;
pub mod room_patterns;
mod server;
mod signal;
mod slow_consumer;
mod turns;
mod unknown_event;
pub mod validate;

#[cfg(test)]
mod fuzz;

pub use config::Config;
pub use departure::Departure;
pub use error::{AckError, ErrorCode};
pub use module::{BoxError, Module, ModuleContext, Payload};
pub use redis_backend::RedisBackend;
pub use server::{RealtimeServer, ServerHandle, StartError};
pub use signal::shutdown_signal;
