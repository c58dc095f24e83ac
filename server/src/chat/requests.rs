//! Chat's requests as its handlers take them, read and checked against the server's limits.

use rtm_protocol::fields;
use serde_json::Value;

use crate::error::AckError;
use crate::module::FromPayload;
use crate::module::validate::{self, Limits};

/// Messages `chat:history` returns when no limit is given.
pub(crate) const DEFAULT_LIMIT: usize = 50;

/// `chat:send {roomId, message}`.
pub(crate) struct SendMessage {
    /// The room.
    pub(crate) room: String,
    /// The message's text.
    pub(crate) message: String,
}

/// `chat:history {roomId, limit?, after?}`.
pub(crate) struct History {
    /// The room.
    pub(crate) room: String,
    /// How many messages at most; without `after` (and a limit), [`DEFAULT_LIMIT`]; with it, all.
    pub(crate) limit: usize,
    /// The last message the client has: the answer starts after it.
    pub(crate) after: Option<String>,
}

impl FromPayload for SendMessage {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        Ok(Self {
            room: limits.id(obj, fields::ROOM_ID)?,
            message: limits.message(obj, fields::MESSAGE)?,
        })
    }
}

impl FromPayload for History {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        let after = limits.optional_id(Some(obj), fields::AFTER)?;
        let default = if after.is_some() {
            usize::MAX
        } else {
            DEFAULT_LIMIT
        };
        Ok(Self {
            room: limits.id(obj, fields::ROOM_ID)?,
            limit: validate::limit(Some(obj), fields::LIMIT, default, usize::MAX)?,
            after,
        })
    }
}
