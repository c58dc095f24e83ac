//! The JSON bodies of the backend API: an emit's `{event, data}` and a storage write's
//! `{value, ifVersion?}`, refused with the protocol's error body when they are not that JSON
//! (400 `invalid_payload`) or too large (413 `limit_exceeded`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::AckError;

/// `{event, data}`: the event name and its payload (`null` when absent).
#[derive(Debug, Deserialize)]
pub(crate) struct EventBody {
    pub(crate) event: String,
    #[serde(default)]
    pub(crate) data: Value,
}

/// `{value, ifVersion?}`: a storage write.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StorageBody {
    #[serde(default)]
    pub(crate) value: Value,
    #[serde(default)]
    pub(crate) if_version: Option<u64>,
}

impl<S: Send + Sync> FromRequest<S> for EventBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        json_body(request, state, r#"{"event": string, "data": any}"#).await
    }
}

impl<S: Send + Sync> FromRequest<S> for StorageBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        json_body(
            request,
            state,
            r#"{"value": any, "ifVersion"?: integer ≥ 0}"#,
        )
        .await
    }
}

/// The body read as `T`; `shape` says what it must be.
async fn json_body<T: DeserializeOwned, S: Send + Sync>(
    request: Request,
    state: &S,
    shape: &str,
) -> Result<T, Response> {
    let bytes =
        Bytes::from_request(request, state)
            .await
            .map_err(|rejection: BytesRejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    super::too_large()
                } else {
                    invalid(format!("the body could not be read: {rejection}"))
                }
            })?;
    serde_json::from_slice(&bytes)
        .map_err(|err| invalid(format!("the body must be a JSON object {shape}: {err}")))
}

fn invalid(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(AckError::invalid(message))).into_response()
}
