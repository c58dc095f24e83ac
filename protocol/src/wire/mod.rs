//! Each payload of `docs/protocol.md` once, as a type with its JSON reader (`from_json`, as
//! strict as a client needs) and writer (`to_json`; `into_json` for a request the client builds
//! to send: its fields move into the JSON, uncopied). The server checks what clients send with
//! its own limits and messages; it answers with these types.
//!
//! The readers and writers the client calls from one place each are `#[inline]`: from another
//! crate, a function without it is not inlined before LLVM, which then keeps it as a call with
//! its arguments moved through memory (half a KiB of the browser SDK's WebAssembly in all).

mod ack;
mod batch;
mod count;
mod entry;
mod event;
mod heartbeat;
mod join;
mod leave;
mod members;
mod storage;
mod sync;

pub use ack::{ErrorAck, ack_result};
pub use batch::PresenceEvents;
pub use count::PresenceCount;
pub use entry::{PresenceEntry, State, snapshot_from_json, snapshot_json};
pub use event::{PresenceEvent, PresenceEventType};
pub use heartbeat::{HeartbeatPayload, HeartbeatResponse};
pub use join::{JoinPayload, JoinResponse, PresenceLevel, Resume, SelfInfo};
pub use leave::LeavePayload;
pub use members::{MembersPayload, MembersResponse};
pub use storage::{
    MAX_KEY_BYTES, MAX_KEYS, MAX_VALUE_BYTES, MAX_VERSION, StorageChanged, StorageEntries,
    StorageEntry, StorageWrite,
};
pub use sync::PresenceSync;
