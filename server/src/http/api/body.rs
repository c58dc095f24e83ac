//! The body of an emit: `{event, data}` as JSON, refused with the protocol's error body when it
//! is not (400 `invalid_payload`) or too large (413 `limit_exceeded`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::error::AckError;

/// `{event, data}`: the event name and its payload (`null` when absent).
#[derive(Debug, Deserialize)]
pub(crate) struct EventBody {
    pub(crate) event: String,
    #[serde(default)]
    pub(crate) data: Value,
}

impl<S: Send + Sync> FromRequest<S> for EventBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
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
        serde_json::from_slice(&bytes).map_err(|err| {
            invalid(format!(
                "the body must be a JSON object {{\"event\": string, \"data\": any}}: {err}"
            ))
        })
    }
}

fn invalid(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(AckError::invalid(message))).into_response()
}
