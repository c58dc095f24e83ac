//! What the server and the SDKs must agree on, written once: the event names, the error codes
//! and the payloads' field names of `docs/protocol.md`. The server (`rtm-server`) imports this
//! module too, so the two sides cannot drift apart. Plain constants and one enum: no I/O, no
//! dependencies.

pub mod codes;
pub mod digest;
pub mod events;
pub mod fields;

pub use codes::ErrorCode;
