//! [`FromPayload`]: a request's payload as its handler takes it, read and checked before the
//! handler runs.

use serde_json::Value;

use super::validate::Limits;
use crate::error::AckError;

/// A request type: what a handler attached with
/// [`ModuleContext::on_request`](super::ModuleContext::on_request) takes. The pipeline reads it
/// from the client's payload (`null` when the client sent none) with the server's limits before
/// the handler runs; a refusal (`invalid_payload`, naming the field) is the request's answer and
/// the handler does not run.
///
/// Presence's requests are the protocol's own types (`rtm_protocol::wire::JoinPayload`, ...);
/// a module writes its own with the helpers of [`validate`](super::validate), or takes the raw
/// [`Value`].
pub trait FromPayload: Sized + Send + 'static {
    /// Reads and checks `payload`.
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError>;
}

/// Any JSON, as the client sent it: for handlers that read it themselves.
impl FromPayload for Value {
    fn from_payload(payload: Value, _: &Limits) -> Result<Self, AckError> {
        Ok(payload)
    }
}
