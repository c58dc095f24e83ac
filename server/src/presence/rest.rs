//! `GET /api/rooms/{roomId}/presence`: a room's snapshot over HTTP, whole or (with `limit` or
//! `cursor`) a page of it, as `presence:members` reads one.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rtm_protocol::fields;
use serde_json::json;

use super::Presence;
use crate::auth::caller::Caller;
use crate::error::{AckError, store_error};

pub(crate) fn routes(presence: Arc<Presence>) -> Router {
    Router::new()
        .route("/api/rooms/{room_id}/presence", get(snapshot))
        .with_state(presence)
}

/// `?limit=N&cursor=C`: both optional; with either, the answer is a page.
#[derive(serde::Deserialize)]
struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn snapshot(
    State(p): State<Arc<Presence>>,
    Extension(caller): Extension<Caller>,
    Path(room_id): Path<String>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    if let Err(refused) = caller.check_read(&room_id) {
        return refused.into_response();
    }
    let Ok(Query(PageQuery { limit, cursor })) = query else {
        return AckError::invalid("limit must be a positive integer; cursor a string")
            .into_response();
    };
    if limit == Some(0) || cursor.as_deref() == Some("") {
        return AckError::invalid("limit must be a positive integer; cursor a non-empty string")
            .into_response();
    }
    if limit.is_none() && cursor.is_none() {
        return match p.store.snapshot(&room_id).await {
            Ok(snapshot) => Json(json!({
                fields::OK: true, fields::ROOM_ID: room_id, fields::SNAPSHOT: snapshot,
            }))
            .into_response(),
            Err(err) => store_error("presence snapshot", &err).into_response(),
        };
    }
    let limit = limit.map_or(p.page, |l| l.min(p.page));
    match p.store.page(&room_id, cursor.as_deref(), limit).await {
        Ok(page) => Json(json!({
            fields::OK: true, fields::ROOM_ID: room_id, fields::SNAPSHOT: page.entries,
            fields::TOTAL: page.total, fields::CURSOR: page.cursor,
        }))
        .into_response(),
        Err(err) => store_error("presence page", &err).into_response(),
    }
}
