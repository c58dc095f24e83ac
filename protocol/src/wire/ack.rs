//! Refusals: `{ok:false, error, code}`, as a client reads them.

use rtm_json as json;
use serde_json::Value;

use crate::{ErrorCode, fields};

/// An error ack: `{ok:false, error, code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAck {
    /// The human-readable message.
    pub error: String,
    /// The machine-readable code (`internal` when a server sent none); a code outside the
    /// closed set (a newer server's) is kept as it is.
    pub code: String,
}

/// Splits an ack into success (`ok` not false) and refusal.
#[inline]
pub fn ack_result(value: Value) -> Result<Value, ErrorAck> {
    if value.get(fields::OK) == Some(&Value::Bool(false)) {
        Err(ErrorAck {
            error: json::string(&value, fields::ERROR).unwrap_or_default(),
            code: json::string(&value, fields::CODE)
                .unwrap_or_else(|| ErrorCode::Internal.as_str().into()),
        })
    } else {
        Ok(value)
    }
}
