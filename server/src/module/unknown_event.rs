//! Events no module handles. One sent with an ack id is answered `unknown_event` at once, so the
//! client does not wait for its timeout; one without gets no answer, as any request. Either counts
//! against the rate limit (over it, the answer is `rate_limited`) and takes its turn among the
//! socket's requests, like a request a module handles.

use socketioxide::extract::{AckSender, Event, SocketRef};

use super::pipeline::send_ack;
use super::rate_limit;
use super::turns::Turns;
use crate::error::{AckError, ErrorCode};

/// Makes `socket` answer the events no module handles.
pub(crate) fn attach(socket: &SocketRef) {
    socket.on_fallback(|socket: SocketRef, Event(event): Event, ack: AckSender| {
        // Taken now, in arrival order, as every request's.
        let ticket = Turns::ticket(&socket);
        async move {
            let _turn = ticket.wait().await;
            tracing::debug!(sid = %socket.id, %event, "an event no module handles");
            let refusal = match rate_limit::check(&socket) {
                Err(limited) => limited,
                Ok(()) => AckError::new(
                    ErrorCode::UnknownEvent,
                    format!("no handler for event {event:?}"),
                ),
            };
            send_ack(&socket, ack, Err(refusal));
        }
    });
}
