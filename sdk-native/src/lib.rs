//! The rtm client SDK for native Rust apps (tokio): rooms with presence, heartbeats with epoch
//! fencing, custom events with acks and timeouts, and automatic reconnect and rejoin.
//!
//! The protocol logic is `rtm-sdk-core`, shared with the browser SDK; this crate drives it over
//! `tokio-tungstenite`. Start with [`RealtimeClient`].

mod channel;
mod client;
mod driver;
mod options;

pub use channel::PresenceChannel;
pub use client::RealtimeClient;
pub use options::{AuthFuture, AuthProvider, ClientOptions, JoinOptions};
pub use rtm_sdk_core::protocol::ErrorCode;
pub use rtm_sdk_core::{
    ChannelEvent, ClientConfig, ConnectionState, Error, HeartbeatResponse, JoinResponse, Member,
    PresenceConfig, PresenceEntry, PresenceEvent, PresenceEventType, ReconnectConfig, SelfInfo,
    ServerEvent, State, StateChange,
};
