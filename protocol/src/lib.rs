//! The rtm wire protocol, written once: what the server (`rtm-server`) and the SDKs
//! (`rtm-sdk-core`, and through it the native and browser SDKs) must agree on.
//!
//! - [`events`]: the Socket.IO event names;
//! - [`ErrorCode`]: the closed set of codes a refusal `{ok:false, error, code}` carries;
//! - [`fields`]: the payloads' field names;
//! - [`wire`]: each payload once, as a type (snapshot entries, presence events, the join and
//!   heartbeat requests and their answers), with its JSON reader and writer;
//! - [`digest`]: the room digest both sides compute.
//!
//! `docs/protocol.md` is the contract; tests here check that it lists exactly these events and
//! codes. No I/O, and serde only behind the `serde` feature (the browser SDK reads and writes
//! the payloads field by field, without serde's machinery in its WebAssembly).

pub mod codes;
pub mod digest;
pub mod events;
pub mod fields;
pub mod wire;

pub use codes::ErrorCode;
