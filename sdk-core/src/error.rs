//! The errors a request or a channel can end with. Each has a stable `code`: the server's code
//! for a refusal, or one of the client's own.

use crate::protocol::ErrorCode;
use crate::wire::StorageEntry;

/// Why a request failed, or what went wrong on a channel.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("{message} ({code})")]
    /// The server refused, with its code (`invalid_payload`, `forbidden`, ...) and message; or
    /// its answer could not be read (`invalid_response`).
    Server {
        /// The server's machine-readable code, as it was sent (see [`Error::server_code`]).
        code: String,
        /// The server's message.
        message: String,
    },
    /// A storage write conditional on a version (`ifVersion`) found the key at another one: the
    /// server's `conflict`, with the key as it is now (enough to compute the next attempt without
    /// reading it again).
    #[error("{message} (conflict)")]
    Conflict {
        /// The server's message.
        message: String,
        /// The key's value and version now (`Null` and 0 when absent).
        current: StorageEntry,
    },
    /// No answer within the timeout.
    #[error("no answer in time")]
    Timeout,
    /// The connection closed before the answer came (or the client is closed).
    #[error("the connection closed")]
    Disconnected,
    /// This many heartbeats in a row went unanswered; the client reconnects.
    #[error("{missed} heartbeats went unanswered")]
    MissedHeartbeats {
        /// How many were missed.
        missed: u32,
    },
    /// The server refused the connection (CONNECT_ERROR), with its message.
    #[error("connection refused: {0}")]
    ConnectRefused(String),
    /// The connection could not be opened or broke while opening.
    #[error("transport error: {0}")]
    Transport(String),
    /// The client gave up reconnecting after this many attempts.
    #[error("gave up reconnecting after {attempts} attempts")]
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
    },
    /// The call does not fit the client's state (joining a room twice, say).
    #[error("{0}")]
    InvalidState(String),
}

impl Error {
    /// The machine-readable code: the server's (`conflict` for [`Error::Conflict`]), or `timeout`, `disconnected`,
    /// `missed_heartbeats`, `connect_refused`, `transport`, `gave_up`, `invalid_state`.
    pub fn code(&self) -> &str {
        match self {
            Error::Server { code, .. } => code,
            Error::Conflict { .. } => ErrorCode::Conflict.as_str(),
            Error::Timeout => "timeout",
            Error::Disconnected => "disconnected",
            Error::MissedHeartbeats { .. } => "missed_heartbeats",
            Error::ConnectRefused(_) => "connect_refused",
            Error::Transport(_) => "transport",
            Error::GaveUp { .. } => "gave_up",
            Error::InvalidState(_) => "invalid_state",
        }
    }

    /// The server's code when it is one of the closed set, `None` otherwise (the client's own
    /// errors, and codes of a newer server).
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            Error::Server { code, .. } => ErrorCode::parse(code),
            Error::Conflict { .. } => Some(ErrorCode::Conflict),
            _ => None,
        }
    }
}

// JSON values compare as an equivalence (serde_json's numbers are never NaN).
impl Eq for Error {}
