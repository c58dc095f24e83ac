//! What [`crate::Core::poll`] hands the JavaScript, as JSON arrays led by a tag:
//!
//! - `["open", transport, url]`, `["send", transport, frame]`, `["close", transport]`
//! - `["state", { state, reason, attempt, retryInMs }]`
//! - `["done", request, true, value]` or `["done", request, false, { code, message }]`
//! - `["room", roomId, eventName, value]` (an `error` event's value is `{ code, message }`)

use rtm_sdk_core::wire::snapshot_json;
use rtm_sdk_core::{ChannelEvent, ClientEvent, Completion, Error, Transmit, json};
use serde_json::Value;

/// A transport instruction.
pub(crate) fn transmit(transmit: Transmit) -> Value {
    match transmit {
        Transmit::Open { id, url } => tagged("open", [id.into(), url.into()]),
        Transmit::Send { id, frame } => tagged("send", [id.into(), frame.into()]),
        Transmit::Close { id } => tagged("close", [id.into()]),
    }
}

/// An event for the app.
pub(crate) fn event(event: ClientEvent) -> Value {
    match event {
        ClientEvent::State(change) => tagged(
            "state",
            [json::object([
                ("state", change.state.as_str().into()),
                ("reason", change.reason.into()),
                ("attempt", change.attempt.into()),
                ("retryInMs", change.retry_in_ms.into()),
            ])],
        ),
        ClientEvent::Completed { id, result } => {
            let (ok, value) = match result {
                Ok(completion) => (true, completion_value(completion)),
                Err(err) => (false, error(&err)),
            };
            tagged("done", [id.0.into(), ok.into(), value])
        }
        ClientEvent::Channel { room, event } => {
            let (name, value) = channel_event(event);
            tagged("room", [room.into(), name.into(), value])
        }
        ClientEvent::Server(event) => tagged("event", [event.event.into(), event.payload]),
    }
}

fn tagged<const N: usize>(tag: &str, fields: [Value; N]) -> Value {
    let mut items = Vec::with_capacity(N + 1);
    items.push(tag.into());
    items.extend(fields);
    Value::Array(items)
}

fn completion_value(completion: Completion) -> Value {
    match completion {
        Completion::Connected | Completion::Left => Value::Null,
        Completion::Joined(response) => response.to_json(),
        Completion::Updated(response) => response.to_json(),
        Completion::Ack(value) => value,
    }
}

/// `{ code, message }`: the JavaScript side makes it an `Error` with a `code`.
fn error(err: &Error) -> Value {
    json::object([
        ("code", err.code().into()),
        ("message", err.to_string().into()),
    ])
}

/// A channel event as the listener name and argument of the JS API.
fn channel_event(event: ChannelEvent) -> (String, Value) {
    match event {
        ChannelEvent::Presence(e) => ("presenceEvent".into(), e.to_json()),
        ChannelEvent::Snapshot(s) => ("snapshot".into(), snapshot_json(&s)),
        ChannelEvent::Connected => ("connected".into(), Value::Null),
        ChannelEvent::Disconnected { reason } => (
            "disconnected".into(),
            json::object([("reason", reason.into())]),
        ),
        ChannelEvent::Reconnected { snapshot } => (
            "reconnected".into(),
            json::object([("snapshot", snapshot_json(&snapshot))]),
        ),
        ChannelEvent::HeartbeatAck {
            changed,
            epoch,
            rtt_ms,
        } => (
            "heartbeatAck".into(),
            json::object([
                ("changed", changed.into()),
                ("epoch", epoch.into()),
                ("rttMs", rtt_ms.into()),
            ]),
        ),
        ChannelEvent::Error(err) => ("error".into(), error(&err)),
        ChannelEvent::Custom { event, payload } => (event, payload),
    }
}
