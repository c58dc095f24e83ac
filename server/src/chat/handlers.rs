//! `chat:send` and `chat:history`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rtm_protocol::fields;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

use super::requests::{History, SendMessage};
use super::store::ChatStore;
use crate::error::{AckError, ErrorCode, store_error};
use crate::module::ModuleContext;
use crate::presence;

/// `chat:send {roomId, message}` → `{ok, msgId, ts}`, and `chat:message` to the room.
pub(crate) async fn send(
    store: Arc<dyn ChatStore>,
    _: ModuleContext,
    socket: SocketRef,
    request: SendMessage,
) -> Result<Value, AckError> {
    let SendMessage {
        room,
        message: text,
    } = request;
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
    Ok(json!({ fields::MSG_ID: msg_id, fields::TS: ts }))
}

/// `chat:history {roomId, limit?}` → `{ok, messages}`, oldest first.
pub(crate) async fn history(
    store: Arc<dyn ChatStore>,
    _: ModuleContext,
    socket: SocketRef,
    History { room, limit }: History,
) -> Result<Value, AckError> {
    member(&socket, &room)?;
    let messages = store
        .history(&room, limit)
        .await
        .map_err(|e| store_error("chat history", &e))?;
    Ok(json!({ fields::MESSAGES: messages }))
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
