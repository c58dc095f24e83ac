//! The error answers a client gets: `{ok:false, error, code}` with a code from a closed set, and
//! how a store failure becomes one. A leaf: it imports nothing of the server (the pipeline sends
//! and counts these answers).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The machine-readable code of a refused request: the protocol's definition
/// (`rtm_protocol::ErrorCode`), so that server and clients cannot disagree on the set.
/// It serializes as its wire spelling (`invalid_payload`, ...).
pub use rtm_protocol::ErrorCode;

/// A refused request: serialized as the ack `{ok:false, error, code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code:?}: {error}")]
pub struct AckError {
    ok: bool,
    /// A human-readable message.
    pub error: String,
    /// The machine-readable code.
    pub code: ErrorCode,
    /// A `conflict`'s `{value, version}` of the key as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
    /// Whether the store caused it (see [`store_error`]): counted in `rtm_store_errors_total`.
    #[serde(skip)]
    store: bool,
}

impl AckError {
    /// The HTTP status of this refusal in the REST and backend APIs (503 for `unavailable`:
    /// worth retrying soon).
    pub fn http_status(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidPayload => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::LimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A refusal with `code` and a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: message.into(),
            code,
            current: None,
            store: false,
        }
    }

    /// `conflict`, with the key's `current` `{value, version}`.
    pub fn conflict(message: impl Into<String>, current: serde_json::Value) -> Self {
        Self {
            current: Some(current),
            ..Self::new(ErrorCode::Conflict, message)
        }
    }

    /// Whether a store failure caused this refusal.
    pub fn is_store_failure(&self) -> bool {
        self.store
    }

    /// `invalid_payload`, naming what is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidPayload, message)
    }

    /// `internal`: the server failed; the details go to the log, not to the client.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal server error, try again")
    }
}

/// An HTTP answer: [`AckError::http_status`] with the body `{ok:false, error, code}`. A store
/// failure is marked in the response's extensions ([`StoreFailure`]), for the metrics layer.
impl IntoResponse for AckError {
    fn into_response(self) -> Response {
        let store = self.store;
        let mut response = (self.http_status(), axum::Json(self)).into_response();
        if store {
            response.extensions_mut().insert(StoreFailure);
        }
        response
    }
}

/// In an HTTP response's extensions: the store caused this refusal.
#[derive(Debug, Clone, Copy)]
pub struct StoreFailure;

/// Turns a store failure into a refusal: `unavailable` when Redis did not answer (timeout, lost
/// or refused connection), `internal` otherwise. Logged at warn; `unavailable` at most once a
/// second (with how many were not logged), so that an overloaded server does not also flood
/// its log.
pub fn store_error(context: &str, err: &(dyn std::error::Error + 'static)) -> AckError {
    let refusal = if !is_unavailable(err) {
        tracing::warn!(%err, "{context} failed");
        AckError::internal()
    } else {
        if let Some(suppressed) = UNAVAILABLE_LOG.allow() {
            tracing::warn!(%err, suppressed, "{context} failed: the store is unavailable");
        }
        AckError::new(
            ErrorCode::Unavailable,
            "the server's store did not answer, try again",
        )
    };
    AckError {
        store: true,
        ..refusal
    }
}

/// Whether `err` (or what caused it) is Redis not answering.
fn is_unavailable(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if let Some(redis) = err.downcast_ref::<redis::RedisError>() {
            return redis.is_timeout()
                || redis.is_io_error()
                || redis.is_connection_dropped()
                || redis.is_connection_refusal();
        }
        cause = err.source();
    }
    false
}

static UNAVAILABLE_LOG: LogThrottle = LogThrottle::new();

/// Lets one log line through per second and counts the others.
struct LogThrottle {
    second: AtomicU64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    const fn new() -> Self {
        Self {
            second: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(lines suppressed since the last one)` when this one may be logged.
    fn allow(&self) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.second.load(Ordering::Relaxed);
        if last != now
            && self
                .second
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}
