//! `GET /api/rooms/{roomId}/presence`: a room's snapshot over HTTP.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rtm_sdk_core::protocol::fields;
use serde_json::json;

use super::Presence;
use crate::error::{AckError, store_error};

pub(crate) fn routes(presence: Arc<Presence>) -> Router {
    Router::new()
        .route("/api/rooms/{room_id}/presence", get(snapshot))
        .with_state(presence)
}

async fn snapshot(State(p): State<Arc<Presence>>, Path(room_id): Path<String>) -> Response {
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
    (err.store_status(), Json(err)).into_response()
}
