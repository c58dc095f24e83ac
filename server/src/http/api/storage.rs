//! Room storage over HTTP: reads for any caller the room allows (`GET
//! /api/rooms/{roomId}/storage[/{key}]`), writes for the backend (`PUT`/`DELETE
//! /api/rooms/{roomId}/storage/{key}`, announced with `userId: null`; 409 on a conflict).

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Router, middleware};
use rtm_protocol::fields;
use serde::Deserialize;
use serde_json::{Value, json};

use super::answer;
use super::body::StorageBody;
use crate::auth::caller::{Caller, Gate, any_caller, backend_only};
use crate::error::AckError;
use crate::module::validate::Limits;
use crate::storage::Storage;

#[derive(Clone)]
struct Rest {
    storage: Storage,
    limits: Limits,
}

/// The storage routes: reads behind the caller check, writes behind the API key check.
pub(crate) fn routes(storage: Storage, limits: Limits, gate: Gate, max_body: usize) -> Router {
    let rest = Rest { storage, limits };
    let reads = Router::new()
        .route("/api/rooms/{room_id}/storage", get(entries))
        .route("/api/rooms/{room_id}/storage/{key}", get(read))
        .with_state(rest.clone())
        .layer(middleware::from_fn_with_state(gate.clone(), any_caller));
    let writes = Router::new()
        .route(
            "/api/rooms/{room_id}/storage/{key}",
            axum::routing::put(write).delete(delete),
        )
        .with_state(rest)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(gate, backend_only));
    // One path, two methods' layers: axum merges the method routers of one path.
    reads.merge(writes)
}

async fn entries(
    State(rest): State<Rest>,
    Extension(caller): Extension<Caller>,
    Path(room): Path<String>,
) -> Response {
    let result = async {
        rest.limits.check_id(&room, fields::ROOM_ID)?;
        caller.check_read(&room)?;
        rest.storage.entries(&room).await
    };
    answer(result.await.map(|all| with_ok(all.to_json(), &room)))
}

async fn read(
    State(rest): State<Rest>,
    Extension(caller): Extension<Caller>,
    Path((room, key)): Path<(String, String)>,
) -> Response {
    let result = async {
        rest.limits.check_id(&room, fields::ROOM_ID)?;
        caller.check_read(&room)?;
        rest.storage.get(&room, &key).await
    };
    answer(result.await.map(|entry| {
        let mut body = with_ok(entry.to_json(), &room);
        body[fields::KEY] = key.into();
        body
    }))
}

async fn write(
    State(rest): State<Rest>,
    Path((room, key)): Path<(String, String)>,
    body: StorageBody,
) -> Response {
    let result = async {
        rest.limits.check_id(&room, fields::ROOM_ID)?;
        rest.storage
            .set(&room, &key, &body.value, body.if_version, None)
            .await
    };
    answer(
        result
            .await
            .map(|version| json!({ fields::OK: true, fields::VERSION: version })),
    )
}

/// `?ifVersion=N`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteQuery {
    if_version: Option<u64>,
}

async fn delete(
    State(rest): State<Rest>,
    Path((room, key)): Path<(String, String)>,
    query: Result<Query<DeleteQuery>, QueryRejection>,
) -> Response {
    let result = async {
        rest.limits.check_id(&room, fields::ROOM_ID)?;
        let Ok(Query(query)) = query else {
            return Err(AckError::invalid("ifVersion must be an integer ≥ 0"));
        };
        rest.storage
            .delete(&room, &key, query.if_version, None)
            .await
    };
    answer(
        result
            .await
            .map(|deleted| json!({ fields::OK: true, fields::DELETED: deleted })),
    )
}

/// `body` with `ok: true` and `roomId`.
fn with_ok(mut body: Value, room: &str) -> Value {
    body[fields::OK] = true.into();
    body[fields::ROOM_ID] = room.into();
    body
}
