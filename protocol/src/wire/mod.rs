//! Each payload of `docs/protocol.md` once, as a type with its JSON reader (`from_json`, as
//! strict as a client needs) and writer (`to_json`). The server checks what clients send with
//! its own limits and messages; it answers with these types.

mod ack;
mod entry;
mod event;
mod heartbeat;
mod join;
mod leave;

pub use ack::{ErrorAck, ack_result};
pub use entry::{PresenceEntry, State, snapshot_from_json, snapshot_json};
pub use event::{PresenceEvent, PresenceEventType};
pub use heartbeat::{HeartbeatPayload, HeartbeatResponse};
pub use join::{JoinPayload, JoinResponse, Resume, SelfInfo};
pub use leave::LeavePayload;
