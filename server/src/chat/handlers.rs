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

/// `chat:history {roomId, limit?}` → `{ok, messages}`, oldest first; with `after`, the messages
/// after that one → `{ok, messages, gap}`.
pub(crate) async fn history(
    store: Arc<dyn ChatStore>,
    _: ModuleContext,
    socket: SocketRef,
    History { room, limit, after }: History,
) -> Result<Value, AckError> {
    member(&socket, &room)?;
    let Some(after) = after else {
        let messages = store
            .history(&room, limit)
            .await
            .map_err(|e| store_error("chat history", &e))?;
        return Ok(json!({ fields::MESSAGES: messages }));
    };
    // The whole history (it is capped): where `after` is decides the answer.
    let all = store
        .history(&room, usize::MAX)
        .await
        .map_err(|e| store_error("chat history", &e))?;
    let (messages, gap) = after_message(all, &after, limit);
    Ok(json!({ fields::MESSAGES: messages, fields::GAP: gap }))
}

/// The first `limit` messages of `history` after the one with id `after`, and `false`; or, when
/// it is not there, the newest `limit` and `true` (the gap could not be closed).
fn after_message(history: Vec<Value>, after: &str, limit: usize) -> (Vec<Value>, bool) {
    let found = history
        .iter()
        .rposition(|m| m.get(fields::MSG_ID).and_then(Value::as_str) == Some(after));
    match found {
        Some(at) => (
            history.into_iter().skip(at + 1).take(limit).collect(),
            false,
        ),
        None => {
            let skip = history.len().saturating_sub(limit);
            (history.into_iter().skip(skip).collect(), true)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn history(ids: &[&str]) -> Vec<Value> {
        ids.iter().map(|id| json!({ "msgId": id })).collect()
    }

    fn ids(messages: &[Value]) -> Vec<&str> {
        messages
            .iter()
            .map(|m| m["msgId"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn after_answers_what_follows_or_says_there_is_a_gap() {
        let all = history(&["a", "b", "c", "d"]);
        let (after_b, gap) = after_message(all.clone(), "b", usize::MAX);
        assert_eq!((ids(&after_b), gap), (vec!["c", "d"], false));
        let (first, gap) = after_message(all.clone(), "a", 2);
        assert_eq!((ids(&first), gap), (vec!["b", "c"], false));
        let (none, gap) = after_message(all.clone(), "d", 10);
        assert_eq!((none.len(), gap), (0, false));
        let (newest, gap) = after_message(all, "gone", 3);
        assert_eq!((ids(&newest), gap), (vec!["b", "c", "d"], true));
    }
}
