//! Presence's requests as its handlers take them: the protocol's payload types, read from what a
//! client sent and checked against the server's limits, each refusal naming its field.

use rtm_protocol::fields;
use rtm_protocol::wire::{
    HeartbeatPayload, JoinPayload, LeavePayload, MembersPayload, PresenceLevel, Resume,
};
use serde_json::{Map, Value};

use crate::error::AckError;
use crate::module::FromPayload;
use crate::module::validate::{self, Limits};

/// `{roomId, userId, state?, resume?}`.
impl FromPayload for JoinPayload {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        Ok(Self {
            room_id: limits.id(obj, fields::ROOM_ID)?,
            user_id: limits.id(obj, fields::USER_ID)?,
            state: limits.state(Some(obj), fields::STATE)?.unwrap_or_default(),
            resume: resume(obj, limits)?,
            presence: level(obj)?,
            batch: batch(obj)?,
        })
    }
}

/// `{roomId, cursor, limit?}`.
impl FromPayload for MembersPayload {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        let limit = match obj.get(fields::LIMIT) {
            None | Some(Value::Null) => None,
            Some(_) => {
                let limit = validate::limit(Some(obj), fields::LIMIT, 1, u32::MAX as usize)?;
                Some(u32::try_from(limit).unwrap_or(u32::MAX))
            }
        };
        Ok(Self {
            room_id: limits.id(obj, fields::ROOM_ID)?,
            cursor: limits.id(obj, fields::CURSOR)?,
            limit,
        })
    }
}

/// The optional `presence` level of a join: `"events"` (the default) or `"count"`.
fn level(obj: &Map<String, Value>) -> Result<PresenceLevel, AckError> {
    match obj.get(fields::PRESENCE) {
        None | Some(Value::Null) => Ok(PresenceLevel::Events),
        Some(v) => v
            .as_str()
            .and_then(PresenceLevel::parse)
            .ok_or_else(|| AckError::invalid("presence must be \"events\" or \"count\"")),
    }
}

/// The optional `batch` flag of a join.
fn batch(obj: &Map<String, Value>) -> Result<bool, AckError> {
    match obj.get(fields::BATCH) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| AckError::invalid("batch must be a boolean")),
    }
}

/// `{epoch, patchState?, digest?, roomId?}`.
impl FromPayload for HeartbeatPayload {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        Ok(Self {
            epoch: epoch(obj)?,
            patch_state: limits.state(Some(obj), fields::PATCH_STATE)?,
            digest: digest(obj)?,
            room_id: limits.optional_id(Some(obj), fields::ROOM_ID)?,
        })
    }
}

/// `{roomId?}`, or no payload.
impl FromPayload for LeavePayload {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::optional_object(&payload)?;
        Ok(Self {
            room_id: limits.optional_id(obj, fields::ROOM_ID)?,
        })
    }
}

/// The optional `resume: {connId, resumeToken}` of a join.
fn resume(obj: &Map<String, Value>, limits: &Limits) -> Result<Option<Resume>, AckError> {
    match obj.get(fields::RESUME) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(resume)) => Ok(Some(Resume {
            conn_id: limits.id(resume, fields::CONN_ID)?,
            resume_token: limits.id(resume, fields::RESUME_TOKEN)?,
        })),
        Some(_) => Err(AckError::invalid(
            "resume must be an object {connId, resumeToken}",
        )),
    }
}

/// The `epoch` field: a non-negative integer.
pub(crate) fn epoch(obj: &Map<String, Value>) -> Result<u64, AckError> {
    match obj.get(fields::EPOCH) {
        None | Some(Value::Null) => Err(AckError::invalid("epoch is required")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| AckError::invalid("epoch must be a non-negative integer")),
    }
}

/// The optional `digest` field: a 32-bit unsigned integer.
fn digest(obj: &Map<String, Value>) -> Result<Option<u32>, AckError> {
    match obj.get(fields::DIGEST) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .map(Some)
            .ok_or_else(|| AckError::invalid("digest must be an integer from 0 to 4294967295")),
    }
}
