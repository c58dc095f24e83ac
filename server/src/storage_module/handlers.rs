//! `storage:set`, `storage:get` and `storage:delete`, for the room's members.

use rtm_protocol::fields;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

use super::requests::{Delete, Get, Set};
use crate::error::{AckError, ErrorCode};
use crate::module::ModuleContext;
use crate::presence;

/// `storage:set` → `{ok, version}`.
pub(crate) async fn set(
    _: (),
    ctx: ModuleContext,
    socket: SocketRef,
    request: Set,
) -> Result<Value, AckError> {
    let user = member(&ctx, &socket, &request.room)?;
    let version = ctx
        .storage()
        .set(
            &request.room,
            &request.key,
            &request.value,
            request.if_version,
            Some(&user),
        )
        .await?;
    Ok(json!({ fields::VERSION: version }))
}

/// `storage:get` → `{ok, value, version}` for a key, `{ok, entries, rev}` for the room.
pub(crate) async fn get(
    _: (),
    ctx: ModuleContext,
    socket: SocketRef,
    request: Get,
) -> Result<Value, AckError> {
    member(&ctx, &socket, &request.room)?;
    match request.key {
        Some(key) => Ok(ctx.storage().get(&request.room, &key).await?.to_json()),
        None => Ok(ctx.storage().entries(&request.room).await?.to_json()),
    }
}

/// `storage:delete` → `{ok, deleted}`.
pub(crate) async fn delete(
    _: (),
    ctx: ModuleContext,
    socket: SocketRef,
    request: Delete,
) -> Result<Value, AckError> {
    let user = member(&ctx, &socket, &request.room)?;
    let deleted = ctx
        .storage()
        .delete(&request.room, &request.key, request.if_version, Some(&user))
        .await?;
    Ok(json!({ fields::DELETED: deleted }))
}

/// The user the socket joined the room as: `forbidden` when its token does not allow the room,
/// `not_joined` when it is not in it.
fn member(ctx: &ModuleContext, socket: &SocketRef, room: &str) -> Result<String, AckError> {
    if !ctx.may_use_room(socket, room) {
        return Err(AckError::new(
            ErrorCode::Forbidden,
            "the token's rooms claim does not allow this room",
        ));
    }
    presence::joined(socket, room)
        .map(|joined| joined.user_id)
        .ok_or_else(|| {
            AckError::new(
                ErrorCode::NotJoined,
                "join the room (presence:join) before using its storage",
            )
        })
}
