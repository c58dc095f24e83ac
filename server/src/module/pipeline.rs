//! The request pipeline: every request of every module, built-in or not, goes through it once.
//!
//! 1. **Turn**: the socket's requests run one at a time, in the order they arrived ([`Turns`]).
//! 2. **Rate limit**: the socket's token bucket ([`rate_limit`](super::rate_limit)).
//! 3. **Read**: the payload is decoded ([`JsonArg`]) and read into the handler's request type
//!    ([`FromPayload`]) with the server's limits.
//! 4. **Handle**: the module's handler, its business logic only, in the request's span.
//! 5. **Record**: its duration and result in the server's metrics (a store failure counted too).
//! 6. **Ack**: `{ok:true, ...}` with the handler's answer, or `{ok:false, error, code}`.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use rtm_protocol::fields;
use serde_json::{Map, Value};
use socketioxide::extract::{AckSender, SocketRef};
use tracing::Instrument;

use super::BoxError;
use super::context::ModuleContext;
use super::payload::{JsonArg, Payload};
use super::rate_limit;
use super::request::FromPayload;
use super::turns::{Ticket, Turns};
use crate::bus::slow_consumer;
use crate::error::AckError;

/// A request handler with the whole pipeline around it, as the dispatch table and sockets keep
/// it: given the socket, the payload, the ack and the request's ticket (taken on arrival).
pub(crate) type Handler =
    Arc<dyn Fn(SocketRef, Payload, AckSender, Ticket) -> BoxFuture<'static, ()> + Send + Sync>;

impl ModuleContext {
    /// Handles the request `event` of every socket: the handler gets `state` (cloned into each
    /// call), this context, the socket and the request read from the payload; it answers an
    /// object whose fields go beside `ok: true` (or `null`: just `{ok:true}`), or an
    /// [`AckError`]. Everything else (turn, rate limit, reading, span, metrics, ack) is the
    /// pipeline's, as the module docs list it. Call it in [`Module::register`]: the server keeps
    /// one table of handlers, not a copy per socket. An event handled twice is an error.
    ///
    /// [`Module::register`]: super::Module::register
    pub fn handle<S, P, F, Fut>(
        &self,
        event: &'static str,
        state: S,
        handler: F,
    ) -> Result<(), BoxError>
    where
        S: Clone + Send + Sync + 'static,
        P: FromPayload,
        F: Fn(S, ModuleContext, SocketRef, P) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, AckError>> + Send + 'static,
    {
        self.handlers()
            .insert(event, self.pipeline(event, state, handler))
    }

    /// Attaches the handler of the request `event` to `socket` alone, as [`Self::handle`] does
    /// for every socket: for a handler whose state is the socket's own. It takes precedence over
    /// the table's for that socket, and costs a few hundred bytes per socket.
    pub fn on_request<S, P, F, Fut>(
        &self,
        socket: &SocketRef,
        event: &'static str,
        state: S,
        handler: F,
    ) where
        S: Clone + Send + Sync + 'static,
        P: FromPayload,
        F: Fn(S, ModuleContext, SocketRef, P) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, AckError>> + Send + 'static,
    {
        let handler = self.pipeline(event, state, handler);
        socket.on(
            event,
            move |socket: SocketRef, JsonArg(data): JsonArg, ack: AckSender| {
                // Taken now, in arrival order: the socket's requests run one after the other.
                let ticket = Turns::ticket(&socket);
                handler(socket, data, ack, ticket)
            },
        );
    }

    /// `handler` with the pipeline around it.
    fn pipeline<S, P, F, Fut>(&self, event: &'static str, state: S, handler: F) -> Handler
    where
        S: Clone + Send + Sync + 'static,
        P: FromPayload,
        F: Fn(S, ModuleContext, SocketRef, P) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, AckError>> + Send + 'static,
    {
        let ctx = self.clone();
        let requests = self.metrics().requests(event);
        Arc::new(move |socket, data, ack, ticket| {
            let (handler, state, ctx) = (handler.clone(), state.clone(), ctx.clone());
            let requests = requests.clone();
            Box::pin(async move {
                let _turn = ticket.wait().await;
                let span = request_span(event, &data);
                let start = Instant::now();
                let handled = async {
                    rate_limit::check(&socket)?;
                    let payload = data.map_err(|_| not_json())?;
                    let request = P::from_payload(payload, ctx.limits())?;
                    handler(state, ctx.clone(), socket.clone(), request).await
                };
                let result = handled.instrument(span).await;
                let refused = result.as_ref().err();
                requests.record(start.elapsed(), refused.map(|e| e.code.as_str()));
                if refused.is_some_and(AckError::is_store_failure) {
                    ctx.metrics().store_error();
                }
                send_ack(&socket, ack, result.and_then(answer));
            })
        })
    }
}

/// The refusal of a payload that is not JSON text (binary, say).
fn not_json() -> AckError {
    AckError::invalid("payload must be a JSON object")
}

/// The span a request runs in: its event, and its room when the payload names one. A root span,
/// so that each request is a trace of its own (the module's span lasts as long as the server).
/// Nothing is computed when no subscriber wants the span.
fn request_span(event: &'static str, payload: &Payload) -> tracing::Span {
    tracing::info_span!(parent: None, "request", event, room = room_of(payload))
}

/// The `roomId` of a request payload, when it has one.
fn room_of(payload: &Payload) -> Option<&str> {
    payload.as_ref().ok()?.get(fields::ROOM_ID)?.as_str()
}

/// A handler's answer with `ok: true`: its fields beside it, or nothing else for `null`. Any
/// other value is a module's bug, logged and answered `internal`.
fn answer(value: Value) -> Result<Value, AckError> {
    let mut object = match value {
        Value::Object(object) => object,
        Value::Null => Map::new(),
        other => {
            tracing::error!(answer = %other, "a handler answered neither an object nor null");
            return Err(AckError::internal());
        }
    };
    object.insert(fields::OK.into(), Value::Bool(true));
    Ok(Value::Object(object))
}

/// Answers a request: `Ok(value)` is sent as is, `Err` as `{ok:false, error, code}`. Does
/// nothing when the client asked for no ack; a socket whose buffer is full is a slow consumer.
pub(crate) fn send_ack(socket: &SocketRef, ack: AckSender, result: Result<Value, AckError>) {
    use socketioxide::{SendError, SocketError};
    let sent = match result {
        Ok(value) => ack.send(&value),
        Err(err) => ack.send(&err),
    };
    match sent {
        Ok(()) | Err(SendError::Socket(SocketError::Closed)) => {}
        Err(SendError::Socket(SocketError::InternalChannelFull)) => {
            tracing::warn!(sid = %socket.id, "an ack was dropped: the socket's buffer is full");
            slow_consumer::disconnect(socket.clone());
        }
        Err(err) => tracing::warn!(sid = %socket.id, %err, "an ack could not be sent"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id};
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::{Layer, Registry};

    use super::*;

    /// Records the fields of each new span as `name field=value ...`.
    #[derive(Clone, Default)]
    struct Spans(Arc<Mutex<Vec<String>>>);

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }

    impl<S: tracing::Subscriber> Layer<S> for Spans {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
            let mut fields = Fields(attrs.metadata().name().to_string());
            attrs.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }

    #[test]
    fn a_request_span_carries_its_event_and_room() {
        let spans = Spans::default();
        let subscriber = Registry::default().with(spans.clone());
        tracing::subscriber::with_default(subscriber, || {
            request_span("presence:join", &Ok(json!({"roomId": "r1", "userId": "u"})));
            request_span("presence:join", &Ok(Value::Null));
        });
        assert_eq!(
            *spans.0.lock().unwrap(),
            [
                "request event=presence:join room=r1",
                "request event=presence:join"
            ]
        );
    }

    #[test]
    fn an_answer_gets_ok_beside_its_fields() {
        assert_eq!(
            answer(json!({"changed": true})).unwrap(),
            json!({"ok": true, "changed": true})
        );
        assert_eq!(answer(Value::Null).unwrap(), json!({"ok": true}));
        let refused = answer(json!(7)).unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::Internal);
    }
}
