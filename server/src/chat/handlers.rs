//! `chat:send` and `chat:history`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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
    let room = ctx.limits().id(obj, "roomId")?;
    let text = ctx.limits().message(obj, "message")?;
    let user = member(&socket, &room)?;
    let msg_id = uuid::Uuid::new_v4().to_string();
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let message = json!({
        "msgId": msg_id, "roomId": room, "userId": user, "message": text, "ts": ts,
    });
    store
        .append(&room, message)
        .await
        .map_err(|e| store_error("chat send", &e))?;
    Ok(json!({ "ok": true, "msgId": msg_id, "ts": ts }))
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
    let room = ctx.limits().id(obj, "roomId")?;
    let limit = validate::limit(Some(obj), "limit", DEFAULT_LIMIT, usize::MAX)?;
    member(&socket, &room)?;
    let messages = store
        .history(&room, limit)
        .await
        .map_err(|e| store_error("chat history", &e))?;
    Ok(json!({ "ok": true, "messages": messages }))
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
