//! `GET /api/chat/{roomId}/history?limit=N`: a room's chat history over HTTP.

use std::sync::Arc;

use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rtm_protocol::fields;
use serde::Deserialize;
use serde_json::json;

use super::requests::DEFAULT_LIMIT;
use super::store::ChatStore;
use crate::auth::caller::Caller;
use crate::error::store_error;

#[derive(Clone)]
struct Rest {
    store: Arc<dyn ChatStore>,
    max: usize,
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<usize>,
}

pub(crate) fn routes(store: Arc<dyn ChatStore>, max: usize) -> Router {
    Router::new()
        .route("/api/chat/{room_id}/history", get(history))
        .with_state(Rest { store, max })
}

async fn history(
    State(rest): State<Rest>,
    Extension(caller): Extension<Caller>,
    Path(room_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Response {
    if let Err(refused) = caller.check_read(&room_id) {
        return refused.into_response();
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, rest.max);
    match rest.store.history(&room_id, limit).await {
        Ok(messages) => Json(json!({
            fields::OK: true, fields::ROOM_ID: room_id, fields::MESSAGES: messages,
        }))
        .into_response(),
        Err(err) => store_error("chat history", &err).into_response(),
    }
}
