//! Where a socket's events go: each socket has one fallback handler (socketioxide's, for events
//! without a handler of their own), which runs the event's handler from the server's
//! [`HandlerTable`]. An event no module handles, sent with an ack id, is answered
//! `unknown_event` at once, so the client does not wait for its timeout; one without gets no
//! answer, as any request. Either counts against the rate limit (over it, the answer is
//! `rate_limited`) and takes its turn among the socket's requests, like a request a module
//! handles.

use std::sync::Arc;

use socketioxide::extract::{AckSender, Event, SocketRef};

use super::handler_table::HandlerTable;
use super::payload::JsonArg;
use super::pipeline::send_ack;
use super::rate_limit;
use super::turns::Turns;
use crate::error::{AckError, ErrorCode};

/// Makes `socket` run its events' handlers from `table`.
pub(crate) fn attach(socket: &SocketRef, table: Arc<HandlerTable>) {
    socket.on_fallback(
        move |socket: SocketRef, Event(event): Event, JsonArg(data): JsonArg, ack: AckSender| {
            // Taken now, in arrival order, as every request's.
            let ticket = Turns::ticket(&socket);
            let handler = table.get(&event);
            async move {
                if let Some(handler) = handler {
                    return handler(socket, data, ack, ticket).await;
                }
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
        },
    );
}
