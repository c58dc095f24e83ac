//! `GET /api/rooms/{roomId}/presence`: a room's snapshot over HTTP.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rtm_protocol::fields;
use serde_json::json;

use super::Presence;
use crate::auth::caller::Caller;
use crate::error::store_error;

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
    if let Err(refused) = caller.check_read(&room_id) {
        return refused.into_response();
    }
    match p.store.snapshot(&room_id).await {
        Ok(snapshot) => Json(json!({
            fields::OK: true, fields::ROOM_ID: room_id, fields::SNAPSHOT: snapshot,
        }))
        .into_response(),
        Err(err) => store_error("presence snapshot", &err).into_response(),
    }
}
