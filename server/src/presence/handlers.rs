//! The presence events a client sends: `presence:join`, `presence:heartbeat`, `presence:leave`.

use std::sync::Arc;

use rtm_protocol::wire::{
    HeartbeatPayload, HeartbeatResponse, JoinPayload, JoinResponse, LeavePayload, MembersPayload,
    MembersResponse, PresenceLevel, SelfInfo,
};
use serde_json::Value;
use socketioxide::extract::SocketRef;

use super::Presence;
use super::membership::{Joined, Membership};
use super::retry;
use super::store::{HeartbeatOutcome, HeartbeatRequest, JoinRequest, StoreError};
use crate::error::{AckError, ErrorCode, store_error};
use crate::module::ModuleContext;
use crate::net::departure::Departure;

/// `presence:join {roomId, userId, state?, resume?, presence?, batch?}` →
/// `{ok, snapshot, total, cursor, self:{connId, epoch, resumeToken, resumed}}`; a `"count"`
/// member also gets the room's count (`presence:count`) just before the answer.
pub(crate) async fn join(
    p: Arc<Presence>,
    ctx: ModuleContext,
    socket: SocketRef,
    request: JoinPayload,
) -> Result<Value, AckError> {
    let JoinPayload {
        room_id: room,
        user_id: user,
        state,
        resume,
        presence: level,
        batch,
    } = request;
    if let Some(auth) = ctx.auth_user(&socket)
        && *auth != *user
    {
        return Err(AckError::new(
            ErrorCode::Forbidden,
            "userId must be the token's subject",
        ));
    }
    room_allowed(&ctx, &socket, &room)?;
    let membership = Membership::of(&socket);
    // A rejoin of a room the socket holds replaces its entry there; a resume is for a room it
    // does not hold.
    let (own, resume) = match membership.get(&room) {
        Some(joined) => (joined.conn_id, None),
        None => (membership.conn_id(), resume),
    };
    if !membership.reserve(&room, p.max_rooms) {
        return Err(AckError::new(
            ErrorCode::LimitExceeded,
            format!(
                "a connection may be in at most {} rooms; leave one first",
                p.max_rooms
            ),
        ));
    }
    // Join the room's channel and Socket.IO room first, so no event after the snapshot is missed.
    if let Err(err) = p.bus.join(&socket, &room).await {
        membership.remove(&room);
        return Err(store_error("presence join (subscribing to the room)", &err));
    }
    p.fanout.add(&socket, &room, level, batch);
    let token = new_token();
    let request = JoinRequest {
        conn: &own,
        user: &user,
        state,
        token: &token,
        resume: resume
            .as_ref()
            .map(|r| (r.conn_id.as_str(), r.resume_token.as_str())),
        page: match level {
            PresenceLevel::Events => p.page,
            PresenceLevel::Count => 0,
        },
    };
    match p.store.join(&room, request).await {
        Ok(outcome) => {
            let conn: Arc<str> = outcome.conn.into();
            let joined = Joined {
                user_id: user,
                epoch: outcome.epoch,
                conn_id: conn.clone(),
                level,
            };
            // Without tokens, a connection belongs to each user it joined a room as.
            ctx.backend().claim_user(&socket, &joined.user_id);
            if outcome.resumed {
                p.local.insert(conn.clone(), socket.id);
            }
            if !membership.insert(room.clone(), joined.clone()) {
                // The socket went while the join was in flight: its disconnect could not leave
                // this room, so the join is released here as the disconnect would have (at once
                // or after the grace), and the room's channel is released if the disconnect came
                // before this join subscribed.
                p.release_room(&socket, &room);
                p.local.remove(&conn, socket.id);
                release(&p, &room, &joined, departure_grace(&p, &socket)).await;
                return Err(AckError::new(
                    ErrorCode::NotJoined,
                    "the connection closed during the join",
                ));
            }
            if level == PresenceLevel::Count {
                p.fanout.send_count(&room, outcome.page.total, socket.id);
            }
            to_answer(&JoinResponse {
                snapshot: outcome.page.entries,
                total: Some(outcome.page.total),
                cursor: outcome.page.cursor,
                self_info: SelfInfo {
                    conn_id: conn.to_string(),
                    epoch: outcome.epoch,
                    resume_token: Some(token),
                    resumed: outcome.resumed,
                },
            })
        }
        Err(err) => {
            // The outcome is unknown (a timeout can come after the write happened): undo it, so
            // a refused join is never left listed. A previous join of this room is gone too.
            membership.remove(&room);
            p.release_room(&socket, &room);
            undo_join(&p, &membership, &room, &own).await;
            Err(store_error("presence join", &err))
        }
    }
}

/// A new resume token: 122 random bits, never shown to anyone but the joiner.
fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Removes `conn`'s entry in `room` after a join that must not stand. When the store fails again,
/// the undo is retried in the background until it succeeds, for up to one TTL (after that the
/// entry, which gets no heartbeats, has expired and the reaper announces its leave). A retry
/// stops as soon as the connection holds the room again (a later join of its own stands).
async fn undo_join(p: &Arc<Presence>, membership: &Membership, room: &str, conn: &Arc<str>) {
    if p.store.leave(room, conn, None).await.is_ok() {
        return;
    }
    tracing::warn!(%room, %conn, "undoing a join failed; retrying in the background");
    let (p, membership, room, conn) = (
        p.clone(),
        membership.clone(),
        room.to_string(),
        conn.clone(),
    );
    let ttl = p.ttl;
    retry::in_background("undoing a join", ttl, move || {
        let (p, membership, room, conn) =
            (p.clone(), membership.clone(), room.clone(), conn.clone());
        async move {
            if membership.get(&room).is_some() {
                return Ok(());
            }
            p.store.leave(&room, &conn, None).await.map(drop)
        }
    });
}

/// `presence:heartbeat {epoch, patchState?, roomId?, digest?}` → `{ok, changed, epoch, snapshot?}`.
pub(crate) async fn heartbeat(
    p: Arc<Presence>,
    _: ModuleContext,
    socket: SocketRef,
    request: HeartbeatPayload,
) -> Result<Value, AckError> {
    let HeartbeatPayload {
        room_id,
        epoch,
        patch_state,
        digest,
    } = request;
    let membership = Membership::of(&socket);
    let Some(room) = resolve_room(&membership, room_id)? else {
        return Err(not_joined());
    };
    let Some(joined) = membership.get(&room) else {
        return Err(not_joined());
    };
    let request = HeartbeatRequest {
        conn: &joined.conn_id,
        epoch,
        patch: patch_state,
        // A count member has no view to heal; a batched member's lags the events of the
        // current window (see `Fanout::defer_digest`).
        digest: digest.filter(|_| {
            joined.level == PresenceLevel::Events && !p.fanout.defer_digest(socket.id, &room)
        }),
        page: p.page,
    };
    match p.store.heartbeat(&room, request).await {
        Ok(HeartbeatOutcome::Refreshed {
            changed,
            epoch,
            snapshot,
        }) => to_answer(&HeartbeatResponse {
            changed,
            epoch,
            total: snapshot.as_ref().map(|page| page.total),
            cursor: snapshot.as_ref().and_then(|page| page.cursor.clone()),
            snapshot: snapshot.map(|page| page.entries),
        }),
        Ok(HeartbeatOutcome::NotJoined) => {
            membership.remove(&room);
            p.release_room(&socket, &room);
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
    _: ModuleContext,
    socket: SocketRef,
    request: LeavePayload,
) -> Result<Value, AckError> {
    let membership = Membership::of(&socket);
    if let Some(room) = resolve_room(&membership, request.room_id)? {
        let (conn, epoch) = match membership.get(&room) {
            Some(joined) => (joined.conn_id, Some(joined.epoch)),
            None => (membership.conn_id(), None),
        };
        p.store
            .leave(&room, &conn, epoch)
            .await
            .map_err(|e| store_error("presence leave", &e))?;
        membership.remove(&room);
        p.release_room(&socket, &room);
    }
    Ok(Value::Null)
}

/// `presence:members {roomId, cursor, limit?}` → `{ok, snapshot, total, cursor}`: the page of
/// the room's snapshot after `cursor`, for a member of the room.
pub(crate) async fn members(
    p: Arc<Presence>,
    ctx: ModuleContext,
    socket: SocketRef,
    request: MembersPayload,
) -> Result<Value, AckError> {
    let MembersPayload {
        room_id: room,
        cursor,
        limit,
    } = request;
    room_allowed(&ctx, &socket, &room)?;
    if Membership::of(&socket).get(&room).is_none() {
        return Err(not_joined());
    }
    let limit = limit.map_or(p.page, |l| (l as usize).min(p.page));
    let page = p
        .store
        .page(&room, Some(&cursor), limit)
        .await
        .map_err(|e| store_error("presence members", &e))?;
    to_answer(&MembersResponse {
        snapshot: page.entries,
        total: Some(page.total),
        cursor: page.cursor,
    })
}

/// Leaves every room the socket is in, and closes its membership so that a join still in flight
/// undoes itself (disconnect, shutdown). A socket that left on purpose is announced at once; a
/// lost one's entries stay for the grace, to be resumed. An entry resumed elsewhere meanwhile
/// (a newer epoch) is left alone.
pub(crate) async fn leave_all(p: &Arc<Presence>, socket: &SocketRef) {
    let membership = Membership::of(socket);
    p.local.remove(&membership.conn_id(), socket.id);
    let grace = departure_grace(p, socket);
    for (room, joined) in membership.close() {
        p.local.remove(&joined.conn_id, socket.id);
        p.fanout.remove(socket.id, &room);
        release(p, &room, &joined, grace).await;
    }
}

/// How long a gone socket's entries wait for a resume: `None` when they leave at once.
fn departure_grace(p: &Presence, socket: &SocketRef) -> Option<std::time::Duration> {
    match Departure::of(socket) {
        Departure::Left => None,
        Departure::Lost => Some(p.grace).filter(|g| !g.is_zero()),
    }
}

/// A gone socket's entry in `room`: left at once, or kept for `grace`. Only the socket's own
/// epoch is touched: an entry resumed elsewhere meanwhile stays. A store failure (many
/// connections going at once can time it out) is retried in the background, so the entry does
/// not wait for its expiry.
async fn release(
    p: &Arc<Presence>,
    room: &str,
    joined: &Joined,
    grace: Option<std::time::Duration>,
) {
    let Err(err) = release_once(p, room, joined, grace).await else {
        return;
    };
    // Logged like a request's failure: at most once a second while the store is out.
    let _ = store_error("presence leave on disconnect", &err);
    let (p, room, joined) = (p.clone(), room.to_string(), joined.clone());
    let ttl = p.ttl;
    retry::in_background("a departure", ttl, move || {
        let (p, room, joined) = (p.clone(), room.clone(), joined.clone());
        async move { release_once(&p, &room, &joined, grace).await }
    });
}

async fn release_once(
    p: &Presence,
    room: &str,
    joined: &Joined,
    grace: Option<std::time::Duration>,
) -> Result<(), StoreError> {
    // Bounded: thousands of connections going at once must not queue so many writes in the
    // store that the others' requests time out behind them.
    let _turn = p.departures.acquire().await;
    let conn = &joined.conn_id;
    match grace {
        Some(grace) => p.store.linger(room, conn, joined.epoch, grace).await,
        None => p.store.leave(room, conn, Some(joined.epoch)).await,
    }
    .map(drop)
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

/// Refuses a room the connection's token does not allow (its `rooms` claim).
fn room_allowed(ctx: &ModuleContext, socket: &SocketRef, room: &str) -> Result<(), AckError> {
    if ctx.may_use_room(socket, room) {
        return Ok(());
    }
    Err(AckError::new(
        ErrorCode::Forbidden,
        "the token's rooms claim does not allow this room",
    ))
}

fn not_joined() -> AckError {
    AckError::new(
        ErrorCode::NotJoined,
        "this connection is not joined to the room; join again",
    )
}

/// A typed answer as the JSON the pipeline acks.
fn to_answer(answer: &impl serde::Serialize) -> Result<Value, AckError> {
    serde_json::to_value(answer).map_err(|err| {
        tracing::error!(%err, "an answer could not be serialized");
        AckError::internal()
    })
}
