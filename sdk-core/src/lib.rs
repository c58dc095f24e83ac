//! Platform-free, sans-IO client logic for rtm, shared by the native (tokio) and browser
//! (WebAssembly) SDKs so that both behave the same.
//!
//! [`Client`] is a state machine: feed it transport events, its deadlines as they pass and the
//! app's calls, each with the current time (an [`Instant`]); drain the frames to send, the next
//! deadline and the events for the app.
//! It speaks Socket.IO v5 over Engine.IO v4 (WebSocket only) and the presence protocol of
//! `docs/protocol.md`: joins with snapshots, heartbeats with epoch fencing and the view's digest
//! (a differing view gets the room's snapshot), idempotent views, missed-heartbeat detection,
//! reconnect with backoff and full jitter (at once when the server drains), rejoins that resume
//! the last join's entry, acks with timeouts; and for large rooms, snapshots read page by page
//! (`presence:members`), batched events (`presence:events`, always asked for) and members that
//! follow only the room's count ([`PresenceLevel::Count`], `presence:count`); and each room's
//! storage, a [`StorageView`] loaded after every join and kept current from `storage:changed`,
//! with conditional writes whose conflicts carry the key as it is ([`storage`]).
//! What it must agree on with the server (event names, error codes, field names) is
//! [`protocol`], which the server imports too.
//!
//! # Driving it
//!
//! An adapter runs one loop per client (`rtm-sdk` with tokio, the browser SDK with the page's
//! WebSocket and one timer). This one has a blocking socket, `Socket`, and a `wait` for its next
//! frame or a deadline:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use rtm_sdk_core::{
//!     Client, ClientConfig, ClientEvent, Completion, Instant, PresenceLevel, Transmit,
//! };
//! # struct Socket;
//! # impl Socket {
//! #     fn connect(_url: &str) -> Result<Socket, String> { Ok(Socket) }
//! #     fn send(&mut self, _frame: &str) {}
//! # }
//! # enum Woken { Frame(String), Closed(String), Deadline }
//! # fn wait(_socket: Option<&mut Socket>, _until: Option<std::time::Instant>) -> Woken {
//! #     unimplemented!()
//! # }
//!
//! // The core's clock: whole milliseconds on the driver's monotonic clock, from any origin.
//! let start = std::time::Instant::now();
//! let now = || Instant::from_millis(start.elapsed().as_millis() as u64);
//!
//! let mut client = Client::new(ClientConfig::default(), 42);
//! let connecting = client.connect(now());
//! let mut socket: Option<(u64, Socket)> = None; // the transport and the core's id for it
//! loop {
//!     // Do what the core asks until it asks nothing more (one output may lead to others).
//!     loop {
//!         if let Some(transmit) = client.poll_transmit() {
//!             match transmit {
//!                 Transmit::Open { id, url } => match Socket::connect(&url) {
//!                     Ok(opened) => {
//!                         socket = Some((id, opened));
//!                         client.transport_opened(now(), id, None);
//!                     }
//!                     Err(reason) => client.transport_closed(now(), id, &reason),
//!                 },
//!                 Transmit::Send { id, frame } => match &mut socket {
//!                     Some((current, s)) if *current == id => s.send(&frame),
//!                     _ => {}
//!                 },
//!                 Transmit::Close { id } => {
//!                     if socket.as_ref().is_some_and(|(current, _)| *current == id) {
//!                         socket = None;
//!                     }
//!                 }
//!             }
//!         } else if let Some(event) = client.poll_event() {
//!             match event {
//!                 ClientEvent::Completed { id, result: Ok(Completion::Connected) }
//!                     if id == connecting =>
//!                 {
//!                     let level = PresenceLevel::Events;
//!                     client.join_room(now(), "lobby", "alice", Default::default(), level);
//!                 }
//!                 other => println!("{other:?}"),
//!             }
//!         } else {
//!             break;
//!         }
//!     }
//!     // Sleep until the core's next deadline or the socket's next frame; tell the core.
//!     let until = client.poll_timeout();
//!     let until = until.map(|at| start + Duration::from_millis(at.as_millis()));
//!     let id = socket.as_ref().map_or(0, |(id, _)| *id);
//!     match wait(socket.as_mut().map(|(_, s)| s), until) {
//!         Woken::Frame(frame) => client.transport_frame(now(), id, &frame),
//!         Woken::Closed(reason) => {
//!             socket = None;
//!             client.transport_closed(now(), id, &reason);
//!         }
//!         Woken::Deadline => client.handle_timeout(now()),
//!     }
//! }
//! ```

pub mod backoff;
mod channel;
mod client;
pub mod codec;
pub mod config;
pub mod error;
pub mod event;
mod paging;
mod small_map;
pub mod storage;
mod time;
pub mod view;

/// The wire protocol this client speaks: event names, error codes, field names and payloads
/// (the `rtm-protocol` crate, which the server uses too).
pub use rtm_protocol as protocol;
// JSON text (the frames) and the payload types, under the names the modules use.
use rtm_json as json;
use rtm_protocol::wire;

pub use client::Client;
pub use config::{ClientConfig, PresenceConfig, ReconnectConfig};
pub use error::Error;
pub use event::{
    ChannelEvent, ClientEvent, Completion, ConnectionState, RequestId, ServerEvent, StateChange,
    Transmit,
};
pub use storage::StorageView;
pub use time::Instant;
pub use view::{Member, PresenceView};
pub use wire::{
    HeartbeatResponse, JoinResponse, PresenceEntry, PresenceEvent, PresenceEventType,
    PresenceLevel, SelfInfo, State, StorageChanged, StorageEntry,
};
