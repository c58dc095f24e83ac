//! `GET /api/rooms/{roomId}/presence`: a room's snapshot over HTTP.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rtm_sdk_core::protocol::fields;
use serde_json::json;

use super::Presence;
use crate::caller::Caller;
use crate::error::{AckError, ErrorCode, store_error};

pub(crate) fn routes(presence: Arc<Presence>) -> Router {
    Router::new()
        .route("/api/rooms/{room_id}/presence", get(snapshot))
        .with_state(presence)
}

async fn snapshot(
    State(p): State<Arc<Presence>>,
    Extension(caller): Extension<Caller>,
    Path(room_id): Path<String>,
) -> Response {
    if !caller.may_read_room(&room_id) {
        return error_response(AckError::new(
            ErrorCode::Forbidden,
            "the token's rooms claim does not allow this room",
        ));
    }
    match p.store.snapshot(&room_id).await {
        Ok(snapshot) => Json(json!({
            fields::OK: true, fields::ROOM_ID: room_id, fields::SNAPSHOT: snapshot,
        }))
        .into_response(),
        Err(err) => error_response(store_error("presence snapshot", &err)),
    }
}

/// An error as an HTTP response with the protocol's error body.
pub(crate) fn error_response(err: AckError) -> Response {
    (crate::api::status(err.code), Json(err)).into_response()
}
