//! Platform-free, sans-IO client logic for rtm, shared by the native (tokio) and browser
//! (WebAssembly) SDKs so that both behave the same.
//!
//! [`Client`] is a state machine: feed it transport events, timer ticks and the app's calls, each
//! with the current time; drain the frames to send, the next deadline and the events for the app.
//! It speaks Socket.IO v5 over Engine.IO v4 (WebSocket only) and the presence protocol of
//! `docs/protocol.md`: joins with snapshots, heartbeats with epoch fencing and the view's digest
//! (a differing view gets the room's snapshot), idempotent views, missed-heartbeat detection,
//! reconnect with backoff and full jitter (at once when the server drains), rejoins that resume
//! the last join's entry, acks with timeouts.
//! What it must agree on with the server (event names, error codes, field names) is
//! [`protocol`], which the server imports too.

pub mod backoff;
mod channel;
mod client;
pub mod codec;
pub mod config;
pub mod error;
pub mod event;
pub mod json;
pub mod protocol;
mod small_map;
pub mod view;
pub mod wire;

pub use client::Client;
pub use config::{ClientConfig, PresenceConfig, ReconnectConfig};
pub use error::Error;
pub use event::{
    ChannelEvent, ClientEvent, Completion, ConnectionState, RequestId, ServerEvent, StateChange,
    Transmit,
};
pub use view::{Member, PresenceView};
pub use wire::{
    HeartbeatResponse, JoinResponse, PresenceEntry, PresenceEvent, PresenceEventType, SelfInfo,
    State,
};
