//! The rtm browser SDK: the npm package `rtm-sdk`, a wasm-bindgen adapter over `rtm-sdk-core`'s
//! sans-IO client.
//!
//! The core decides everything (the protocol, presence, heartbeats, reconnects, acks); this
//! crate carries out what it says, with the platform's own APIs:
//! - the WebSocket through web-sys, constructed from `options.WebSocket` or the global one
//!   (`transport`);
//! - the core's one deadline as one gloo-timers `Timeout`, re-armed after every input
//!   (`driver`);
//! - promises, listeners and the auth provider through js-sys (`client`, `channel`,
//!   listeners, auth);
//! - the page's lifecycle through web-sys (`lifecycle`);
//! - values for the app through serde-wasm-bindgen, errors as `Error`s with a `code`
//!   (`convert`).
//!
//! The package's JavaScript is only its entries: `init()` loads this WebAssembly on first need,
//! and a facade makes `new RealtimeClient()` synchronous before that (`sdk-wasm/js`).
//!
//! The driving loop, as `driver::act` runs it for every input:
//!
//! ```text
//! app call / socket event / timer  ──►  core.input(now, …)
//!                                        │
//!   open/send/close sockets  ◄──  poll_transmit()      (until both are empty)
//!   settle promises, listeners ◄── poll_event()
//!                                        │
//!                    one Timeout  ◄──  poll_timeout()
//! ```

mod auth;
mod channel;
mod client;
mod convert;
mod driver;
mod lifecycle;
mod listeners;
mod storage;
mod transport;

pub use channel::PresenceChannel;
pub use client::RealtimeClient;
pub use storage::RoomStorage;

/// Talc instead of the default dlmalloc: a few KiB smaller, and faster.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
