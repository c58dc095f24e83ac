//! [`Core`]: the client state machine as the package's JavaScript drives it.

use rtm_sdk_core::{Client, ClientConfig, State, json};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::output;

/// The sans-IO client. Every input takes `now`, ms on a monotonic clock (`performance.now()`);
/// JSON crosses as text (the JavaScript side uses the browser's own `JSON`). After each input,
/// drain [`Core::poll`] and re-arm the timer at [`Core::deadline`].
#[wasm_bindgen]
pub struct Core {
    client: Client,
}

#[wasm_bindgen]
impl Core {
    /// A client from the options as JSON text (`ClientOptions` less its functions); `seed` in
    /// [0, 1) seeds the reconnect jitter. Throws a message naming a field of the wrong type.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str, seed: f64) -> Result<Core, String> {
        let options = json::parse(options).map_err(|_| "options are not JSON".to_string())?;
        let config = ClientConfig::from_json(&options)?;
        let seed = (seed * u64::MAX as f64) as u64;
        Ok(Self {
            client: Client::new(config, seed),
        })
    }

    // ===== the app's calls; each returns its request id =====

    /// Connects.
    pub fn connect(&mut self, now: f64) -> f64 {
        id(self.client.connect(ms(now)))
    }

    /// Joins `room` as `user` with `state` (a JSON object's text).
    pub fn join(&mut self, now: f64, room: &str, user: &str, state: &str) -> f64 {
        id(self.client.join(ms(now), room, user, object(state)))
    }

    /// Merges `patch` (a JSON object's text) into this connection's state in `room`.
    pub fn update(&mut self, now: f64, room: &str, patch: &str) -> f64 {
        id(self.client.update_state(ms(now), room, object(patch)))
    }

    /// Sends an event without an ack; false when not connected.
    pub fn emit(&mut self, event: &str, payload: &str) -> bool {
        self.client.emit(event, value(payload)).is_ok()
    }

    /// Sends an event and waits for its ack, at most `timeout_ms` (default: the request timeout).
    pub fn request(
        &mut self,
        now: f64,
        event: &str,
        payload: &str,
        timeout_ms: Option<f64>,
    ) -> f64 {
        let timeout = timeout_ms.map(|t| t.max(0.0) as u64);
        id(self
            .client
            .emit_with_ack(ms(now), event, value(payload), timeout))
    }

    /// Leaves `room`.
    pub fn leave(&mut self, now: f64, room: &str) -> f64 {
        id(self.client.leave(ms(now), room))
    }

    /// Leaves every room and closes for good.
    pub fn disconnect(&mut self, now: f64) {
        self.client.disconnect(ms(now));
    }

    // ===== what the JavaScript saw =====

    /// Transport `id` opened; `auth` is the auth provider's answer as JSON text, if any.
    pub fn opened(&mut self, now: f64, id: f64, auth: Option<String>) {
        let auth = auth.map(|a| value(&a));
        self.client.transport_opened(ms(now), id as u64, auth);
    }

    /// A text frame arrived on transport `id`.
    pub fn frame(&mut self, now: f64, id: f64, text: &str) {
        self.client.transport_frame(ms(now), id as u64, text);
    }

    /// Transport `id` could not open, or closed.
    pub fn closed(&mut self, now: f64, id: f64, reason: &str) {
        self.client.transport_closed(ms(now), id as u64, reason);
    }

    /// Time passed (the timer fired, or the page became visible again).
    pub fn tick(&mut self, now: f64) {
        self.client.handle_timeout(ms(now));
    }

    // ===== outputs =====

    /// The next thing to do, as JSON text (see `output`), or `undefined` when there is none.
    pub fn poll(&mut self) -> Option<String> {
        let next = match self.client.poll_transmit() {
            Some(transmit) => output::transmit(transmit),
            None => output::event(self.client.poll_event()?),
        };
        Some(json::to_string(&next))
    }

    /// When [`Core::tick`] must next be called, if ever.
    pub fn deadline(&self) -> Option<f64> {
        self.client.poll_timeout().map(|t| t as f64)
    }

    // ===== reads =====

    /// `connecting`, `connected`, `reconnecting` or `disconnected`.
    pub fn state(&self) -> String {
        self.client.state().as_str().to_string()
    }

    /// The room's users, their tabs merged, as JSON text.
    pub fn members(&self, room: &str) -> String {
        let members = self
            .client
            .view(room)
            .map(|v| v.members())
            .unwrap_or_default();
        json::to_string(&Value::Array(members.iter().map(|m| m.to_json()).collect()))
    }

    /// The room's connections, as JSON text.
    pub fn connections(&self, room: &str) -> String {
        let connections = self
            .client
            .view(room)
            .map(|v| v.connections())
            .unwrap_or_default();
        json::to_string(&rtm_sdk_core::wire::snapshot_json(&connections))
    }

    /// This connection's `SelfInfo` in `room` while joined (the last join's, at the current
    /// epoch), as JSON text.
    pub fn me(&self, room: &str) -> Option<String> {
        let me = self.client.self_info(room)?;
        Some(json::to_string(&me.to_json()))
    }
}

fn ms(now: f64) -> u64 {
    now.max(0.0) as u64
}

fn id(request: rtm_sdk_core::RequestId) -> f64 {
    request.0 as f64
}

/// JSON text as a value; the JavaScript side sends only what `JSON.stringify` wrote.
fn value(text: &str) -> Value {
    json::parse(text).unwrap_or(Value::Null)
}

/// JSON text as an object (anything else is an empty one; the JavaScript side checks first).
fn object(text: &str) -> State {
    match value(text) {
        Value::Object(map) => map,
        _ => State::new(),
    }
}
