//! The presence events a client sends: `presence:join`, `presence:heartbeat`, `presence:leave`.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use socketioxide::extract::SocketRef;

use super::Presence;
use super::membership::{Joined, Membership};
use super::store::HeartbeatOutcome;
use crate::error::{AckError, ErrorCode, store_error};
use crate::module::{ModuleContext, Payload};
use crate::validate;

/// `presence:join {roomId, userId, state?}` → `{ok, snapshot, self:{connId, epoch}}`.
pub(crate) async fn join(
    p: Arc<Presence>,
    ctx: ModuleContext,
    socket: SocketRef,
    data: Payload,
) -> Result<Value, AckError> {
    ctx.check_rate(&socket)?;
    let payload = validate::payload(data)?;
    let obj = validate::object(&payload)?;
    let room = ctx.limits().id(obj, "roomId")?;
    let user = ctx.limits().id(obj, "userId")?;
    let state = ctx.limits().state(Some(obj), "state")?.unwrap_or_default();
    if let Some(auth) = ctx.auth_user(&socket)
        && *auth != *user
    {
        return Err(AckError::new(
            ErrorCode::Forbidden,
            "userId must be the token's subject",
        ));
    }
    let conn = socket.id.to_string();
    let membership = Membership::of(&socket);
    let was_member = membership.get(&room).is_some();
    // Join the Socket.IO room first, so no event after the snapshot is missed.
    socket.join(room.clone());
    match p.store.join(&room, &conn, &user, state).await {
        Ok(outcome) => {
            membership.insert(
                room,
                Joined {
                    user_id: user,
                    epoch: outcome.epoch,
                },
            );
            Ok(json!({
                "ok": true,
                "snapshot": outcome.snapshot,
                "self": { "connId": conn, "epoch": outcome.epoch },
            }))
        }
        Err(err) => {
            if !was_member {
                socket.leave(room);
            }
            Err(store_error("presence join", &err))
        }
    }
}

/// `presence:heartbeat {epoch, patchState?, roomId?}` → `{ok, changed, epoch}`.
pub(crate) async fn heartbeat(
    p: Arc<Presence>,
    ctx: ModuleContext,
    socket: SocketRef,
    data: Payload,
) -> Result<Value, AckError> {
    ctx.check_rate(&socket)?;
    let payload = validate::payload(data)?;
    let obj = validate::object(&payload)?;
    let epoch = epoch(obj)?;
    let patch = ctx.limits().state(Some(obj), "patchState")?;
    let requested = ctx.limits().optional_id(Some(obj), "roomId")?;
    let membership = Membership::of(&socket);
    let Some(room) = resolve_room(&membership, requested)? else {
        return Err(not_joined());
    };
    if membership.get(&room).is_none() {
        return Err(not_joined());
    }
    let conn = socket.id.to_string();
    match p.store.heartbeat(&room, &conn, epoch, patch).await {
        Ok(HeartbeatOutcome::Refreshed { changed, epoch }) => {
            Ok(json!({ "ok": true, "changed": changed, "epoch": epoch }))
        }
        Ok(HeartbeatOutcome::NotJoined) => {
            membership.remove(&room);
            socket.leave(room);
            Err(not_joined())
        }
        Ok(HeartbeatOutcome::StaleEpoch) => Err(AckError::new(
            ErrorCode::StaleEpoch,
            format!("epoch {epoch} is not this connection's current epoch; rejoin"),
        )),
        Err(err) => Err(store_error("presence heartbeat", &err)),
    }
}

/// `presence:leave {roomId?}` (or no payload) → `{ok:true}`; leaving a room one is not in is a
/// no-op that succeeds.
pub(crate) async fn leave(
    p: Arc<Presence>,
    ctx: ModuleContext,
    socket: SocketRef,
    data: Payload,
) -> Result<Value, AckError> {
    ctx.check_rate(&socket)?;
    let payload = data.unwrap_or(Value::Null);
    let obj = validate::optional_object(&payload)?;
    let requested = ctx.limits().optional_id(obj, "roomId")?;
    let membership = Membership::of(&socket);
    if let Some(room) = resolve_room(&membership, requested)? {
        p.store
            .leave(&room, &socket.id.to_string())
            .await
            .map_err(|e| store_error("presence leave", &e))?;
        membership.remove(&room);
        socket.leave(room);
    }
    Ok(json!({ "ok": true }))
}

/// Leaves every room the socket is in (disconnect, shutdown).
pub(crate) async fn leave_all(p: &Arc<Presence>, socket: &SocketRef) {
    let conn = socket.id.to_string();
    for room in Membership::of(socket).take_all() {
        if let Err(err) = p.store.leave(&room, &conn).await {
            tracing::warn!(%err, %room, %conn, "presence leave on disconnect failed");
        }
    }
}

fn epoch(obj: &Map<String, Value>) -> Result<u64, AckError> {
    match obj.get("epoch") {
        None | Some(Value::Null) => Err(AckError::invalid("epoch is required")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| AckError::invalid("epoch must be a non-negative integer")),
    }
}

/// The room a heartbeat or leave is for: the one named, or the socket's only room.
fn resolve_room(
    membership: &Membership,
    requested: Option<String>,
) -> Result<Option<String>, AckError> {
    if requested.is_some() {
        return Ok(requested);
    }
    let mut rooms = membership.rooms();
    match rooms.len() {
        0 | 1 => Ok(rooms.pop()),
        _ => Err(AckError::invalid(
            "roomId is required when the connection is in more than one room",
        )),
    }
}

fn not_joined() -> AckError {
    AckError::new(
        ErrorCode::NotJoined,
        "this connection is not joined to the room; join again",
    )
}
