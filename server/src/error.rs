//! The error answers a client gets: `{ok:false, error, code}` with a code from a closed set.

use serde::Serialize;

/// The machine-readable code of a refused request. The set is closed and documented in
/// `docs/protocol.md`; clients branch on it, so a variant is never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload is malformed; the message names the field.
    InvalidPayload,
    /// A heartbeat carried an epoch that is not the connection's current one.
    StaleEpoch,
    /// The connection is not (or no longer) joined to the room: rejoin.
    NotJoined,
    /// The connection may not do this (wrong user for its token, or not a member of the room).
    Forbidden,
    /// The connection sent more requests than its rate limit allows.
    RateLimited,
    /// The server could not complete the request (for example Redis is unreachable).
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidPayload => "invalid_payload",
            Self::StaleEpoch => "stale_epoch",
            Self::NotJoined => "not_joined",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
        }
    }
}

/// A refused request: serialized as the ack `{ok:false, error, code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code:?}: {error}")]
pub struct AckError {
    ok: bool,
    /// A human-readable message.
    pub error: String,
    /// The machine-readable code.
    pub code: ErrorCode,
}

impl AckError {
    /// A refusal with `code` and a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: message.into(),
            code,
        }
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

/// Logs a store failure at warn and turns it into an `internal` refusal.
pub fn internal_error(context: &str, err: impl std::fmt::Display) -> AckError {
    tracing::warn!(%err, "{context} failed");
    AckError::internal()
}

/// Answers a request: `Ok(value)` is sent as is (it carries `ok:true`), `Err` as
/// `{ok:false, error, code}`. Does nothing when the client asked for no ack.
pub fn send_ack(
    ack: socketioxide::extract::AckSender,
    result: Result<serde_json::Value, AckError>,
) {
    let sent = match result {
        Ok(value) => ack.send(&value),
        Err(err) => ack.send(&err),
    };
    if let Err(err) = sent {
        tracing::debug!(%err, "could not send an ack");
    }
}
