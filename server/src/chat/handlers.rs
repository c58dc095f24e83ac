//! `chat:send` and `chat:history`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rtm_sdk_core::protocol::fields;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

use super::store::ChatStore;
use crate::error::{AckError, ErrorCode, store_error};
use crate::module::{ModuleContext, Payload};
use crate::{presence, validate};

/// Messages `chat:history` returns when no limit is given.
pub(crate) const DEFAULT_LIMIT: usize = 50;

/// `chat:send {roomId, message}` → `{ok, msgId, ts}`, and `chat:message` to the room.
pub(crate) async fn send(
    store: Arc<dyn ChatStore>,
    ctx: ModuleContext,
    socket: SocketRef,
    data: Payload,
) -> Result<Value, AckError> {
    ctx.check_rate(&socket)?;
    let payload = validate::payload(data)?;
    let obj = validate::object(&payload)?;
    let room = ctx.limits().id(obj, fields::ROOM_ID)?;
    let text = ctx.limits().message(obj, fields::MESSAGE)?;
    let user = member(&socket, &room)?;
    let msg_id = uuid::Uuid::new_v4().to_string();
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let message = json!({
        fields::MSG_ID: msg_id, fields::ROOM_ID: room, fields::USER_ID: user,
        fields::MESSAGE: text, fields::TS: ts,
    });
    store
        .append(&room, message)
        .await
        .map_err(|e| store_error("chat send", &e))?;
    Ok(json!({ fields::OK: true, fields::MSG_ID: msg_id, fields::TS: ts }))
}

/// `chat:history {roomId, limit?}` → `{ok, messages}`, oldest first.
pub(crate) async fn history(
    store: Arc<dyn ChatStore>,
    ctx: ModuleContext,
    socket: SocketRef,
    data: Payload,
) -> Result<Value, AckError> {
    ctx.check_rate(&socket)?;
    let payload = validate::payload(data)?;
    let obj = validate::object(&payload)?;
    let room = ctx.limits().id(obj, fields::ROOM_ID)?;
    let limit = validate::limit(Some(obj), fields::LIMIT, DEFAULT_LIMIT, usize::MAX)?;
    member(&socket, &room)?;
    let messages = store
        .history(&room, limit)
        .await
        .map_err(|e| store_error("chat history", &e))?;
    Ok(json!({ fields::OK: true, fields::MESSAGES: messages }))
}

/// The user the socket joined the room as, or `forbidden`.
fn member(socket: &SocketRef, room: &str) -> Result<String, AckError> {
    presence::joined(socket, room)
        .map(|j| j.user_id)
        .ok_or_else(|| {
            AckError::new(
                ErrorCode::Forbidden,
                "join the room (presence:join) before using its chat",
            )
        })
}
