//! The rtm client SDK for native Rust apps (tokio): rooms with presence, heartbeats with epoch
//! fencing, custom events with acks and timeouts, and automatic reconnect and rejoin.
//!
//! The protocol logic is `rtm-sdk-core`, shared with the browser SDK; this crate drives it over
//! `tokio-tungstenite`. Start with [`RealtimeClient`].
//!
//! Large rooms: a join's snapshot may be the first page of the room's; the channel reads the
//! others by itself ([`ChannelEvent::Page`], [`PresenceChannel::wait_complete`]). A member that
//! needs only how many are there joins with [`JoinOptions::presence`]`(`[`PresenceLevel::Count`]`)`
//! and reads [`PresenceChannel::count`].
//!
//! Room storage: [`PresenceChannel::storage`] reads the room's keys from a view the channel keeps
//! current, writes them (conditionally on a version, if asked), and updates one with a function
//! of its value that is retried on conflict ([`RoomStorage::update`]).

mod channel;
mod client;
mod driver;
mod options;
mod storage;

pub use channel::PresenceChannel;
pub use client::RealtimeClient;
pub use options::{AuthFuture, AuthProvider, ClientOptions, JoinOptions};
pub use rtm_sdk_core::protocol::ErrorCode;
pub use rtm_sdk_core::{
    ChannelEvent, ClientConfig, ConnectionState, Error, HeartbeatResponse, JoinResponse, Member,
    PresenceConfig, PresenceEntry, PresenceEvent, PresenceEventType, PresenceLevel,
    ReconnectConfig, SelfInfo, ServerEvent, State, StateChange, StorageChanged, StorageEntry,
};
pub use storage::RoomStorage;
