//! The backend HTTP API: what the app's own backend calls, with an API key, to reach users
//! (`POST .../events`), see who is online and which rooms are active, and disconnect users.
//! Every node answers for the whole cluster (see [`Backend`]).

mod body;
pub(crate) mod storage;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, middleware};
use serde::Deserialize;
use serde_json::json;

use crate::auth::caller::{Gate, backend_only, http_error};
use crate::backend::Backend;
use crate::error::{AckError, ErrorCode};
use crate::module::validate::Limits;
use body::EventBody;

/// How many rooms a page lists when `limit` is not given.
const DEFAULT_ROOMS_PAGE: usize = 100;

#[derive(Clone)]
struct Api {
    backend: Backend,
    limits: Limits,
}

/// The backend API's routes, behind the API key check.
pub(crate) fn routes(backend: Backend, limits: Limits, gate: Gate, max_body: usize) -> Router {
    Router::new()
        .route("/api/users/{user_id}/events", post(emit_to_user))
        .route("/api/users/{user_id}/presence", get(user_presence))
        .route("/api/users/{user_id}/disconnect", post(disconnect_user))
        .route("/api/rooms/{room_id}/events", post(emit_to_room))
        .route("/api/rooms", get(rooms))
        .route("/api/broadcast", post(broadcast))
        .with_state(Api { backend, limits })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(gate, backend_only))
}

async fn emit_to_user(
    State(api): State<Api>,
    Path(user): Path<String>,
    body: EventBody,
) -> Response {
    let result = async {
        api.limits.check_id(&user, "userId")?;
        api.backend
            .emit_to_user(&user, &body.event, body.data)
            .await
    };
    answer(result.await.map(|()| json!({ "ok": true })))
}

async fn emit_to_room(
    State(api): State<Api>,
    Path(room): Path<String>,
    body: EventBody,
) -> Response {
    let result = async {
        api.limits.check_id(&room, "roomId")?;
        api.backend
            .emit_to_room(&room, &body.event, body.data)
            .await
    };
    answer(result.await.map(|()| json!({ "ok": true })))
}

async fn broadcast(State(api): State<Api>, body: EventBody) -> Response {
    let result = api.backend.broadcast(&body.event, body.data).await;
    answer(result.map(|()| json!({ "ok": true })))
}

async fn user_presence(State(api): State<Api>, Path(user): Path<String>) -> Response {
    let result = async {
        api.limits.check_id(&user, "userId")?;
        api.backend.user_presence(&user).await
    };
    answer(result.await.map(|presence| {
        json!({
            "ok": true,
            "userId": user,
            "online": presence.online,
            "connections": presence.connections,
        })
    }))
}

async fn disconnect_user(State(api): State<Api>, Path(user): Path<String>) -> Response {
    let result = async {
        api.limits.check_id(&user, "userId")?;
        api.backend.disconnect_user(&user).await
    };
    answer(
        result
            .await
            .map(|count| json!({ "ok": true, "userId": user, "disconnected": count })),
    )
}

#[derive(Deserialize)]
struct RoomsQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn rooms(
    State(api): State<Api>,
    query: Result<Query<RoomsQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return answer(Err(AckError::invalid(
            "limit must be a positive integer; cursor a string",
        )));
    };
    let limit = query.limit.unwrap_or(DEFAULT_ROOMS_PAGE);
    if limit == 0 {
        return answer(Err(AckError::invalid("limit must be a positive integer")));
    }
    let page = api.backend.rooms(limit, query.cursor.as_deref()).await;
    answer(
        page.map(|page| json!({ "ok": true, "rooms": page.rooms, "nextCursor": page.next_cursor })),
    )
}

/// The answer as an HTTP response: 200 with the body, or the error's status with
/// `{ok:false, error, code}`.
fn answer(result: Result<serde_json::Value, AckError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(err) => err.into_response(),
    }
}

/// The refusal of a body over the size limit.
fn too_large() -> Response {
    http_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::LimitExceeded.as_str(),
        "the body is larger than --max-message-size-bytes",
    )
}
