//! The rtm browser SDK's WebAssembly: `rtm-sdk-core`'s sans-IO client exported as one class,
//! [`Core`], with JSON text at its edges.
//!
//! Everything that touches the platform is the npm package's JavaScript (`sdk-wasm/js`): the
//! WebSocket, the one timer, the auth provider, promises, listeners and the page's lifecycle. It
//! feeds `Core` what happens (with the time) and carries out what `Core::poll` says. That keeps
//! the protocol logic in Rust, shared with the native SDK, and the WebAssembly small: no web-sys,
//! no closures, no JS objects built from Rust.

mod machine;
mod output;

pub use machine::Core;

/// Talc instead of the default dlmalloc: a few KiB smaller, and faster.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
