//! The errors a request or a channel can end with. Each has a stable `code`: the server's code
//! for a refusal, or one of the client's own.

use std::fmt;

/// Why a request failed, or what went wrong on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server refused, with its code (`invalid_payload`, `forbidden`, ...) and message.
    Server {
        /// The server's machine-readable code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// No answer within the timeout.
    Timeout,
    /// The connection closed before the answer came.
    Disconnected,
    /// This many heartbeats in a row went unanswered; the client reconnects.
    MissedHeartbeats {
        /// How many were missed.
        missed: u32,
    },
    /// The server refused the connection (CONNECT_ERROR), with its message.
    ConnectRefused(String),
    /// The connection could not be opened or broke while opening.
    Transport(String),
    /// The client gave up reconnecting after this many attempts.
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
    },
    /// The call does not fit the client's state (joining a room twice, say).
    InvalidState(String),
}

impl Error {
    /// The machine-readable code: the server's, or `timeout`, `disconnected`,
    /// `missed_heartbeats`, `connect_refused`, `transport`, `gave_up`, `invalid_state`.
    pub fn code(&self) -> &str {
        match self {
            Error::Server { code, .. } => code,
            Error::Timeout => "timeout",
            Error::Disconnected => "disconnected",
            Error::MissedHeartbeats { .. } => "missed_heartbeats",
            Error::ConnectRefused(_) => "connect_refused",
            Error::Transport(_) => "transport",
            Error::GaveUp { .. } => "gave_up",
            Error::InvalidState(_) => "invalid_state",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Server { code, message } => write!(f, "{message} ({code})"),
            Error::Timeout => f.write_str("no answer in time"),
            Error::Disconnected => f.write_str("the connection closed"),
            Error::MissedHeartbeats { missed } => write!(f, "{missed} heartbeats went unanswered"),
            Error::ConnectRefused(m) => write!(f, "connection refused: {m}"),
            Error::Transport(m) => write!(f, "transport error: {m}"),
            Error::GaveUp { attempts } => {
                write!(f, "gave up reconnecting after {attempts} attempts")
            }
            Error::InvalidState(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
