//! The rtm browser SDK: the npm package `rtm-sdk`, a wasm-bindgen adapter over `rtm-sdk-core`.
//!
//! A `web_sys::WebSocket` transport, one `gloo-timers` timer for the core's next deadline,
//! promises for requests, and listeners for events. The protocol logic is the core's, the same as
//! the native SDK's.

mod channel;
mod client;
mod driver;
mod js;
mod lifecycle;
mod listeners;
mod transport;

pub use channel::PresenceChannel;
pub use client::RealtimeClient;

use wasm_bindgen::prelude::*;

/// Talc instead of the default dlmalloc: a few KiB smaller, and faster.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("rtm-sdk.d.ts");
