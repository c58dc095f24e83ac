//! `RealtimeClient` as the WebAssembly exports it; the package's entries wrap it in a facade that
//! exists before the WebAssembly is loaded (`sdk-wasm/js/sdk.js`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Function, Object, Promise, Reflect};
use rtm_sdk_core::{Client, ClientConfig, PresenceLevel};
use wasm_bindgen::prelude::*;

use crate::convert::{client_error, error, field, from_js, object_from_js};
use crate::driver::{Inner, Shared, act, request};
use crate::lifecycle::Lifecycle;

/// A connection to an rtm server (see the package's `index.d.ts`).
#[wasm_bindgen(skip_typescript)]
pub struct RealtimeClient {
    shared: Shared,
}

#[wasm_bindgen]
impl RealtimeClient {
    /// A client from `ClientOptions`; throws `invalid_argument` for options of the wrong shape.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<RealtimeClient, JsValue> {
        let function = |name: &str| field(&options, name).dyn_into::<Function>().ok();
        let (auth, socket_class) = (function("authProvider"), function("WebSocket"));
        // The options less their functions, as the core reads them.
        let plain = Object::assign(&Object::new(), &Object::from(options.clone()));
        for name in ["authProvider", "WebSocket"] {
            let _ = Reflect::delete_property(&plain, &name.into());
        }
        let invalid = |e: String| error("invalid_argument", &format!("invalid options: {e}"));
        let options = from_js(&plain).map_err(|e| invalid(crate::convert::message(&e)))?;
        let config = ClientConfig::from_json(&options).map_err(invalid)?;
        let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
        let inner = Inner::new(Client::new(config, seed), auth, socket_class);
        let shared = Rc::new(RefCell::new(inner));
        let lifecycle = Lifecycle::attach(&shared);
        shared.borrow_mut().lifecycle = lifecycle;
        Ok(Self { shared })
    }

    /// Connects; lost connections are retried with backoff.
    pub fn connect(&self) -> Promise {
        request(&self.shared, None, |core, now| core.connect(now))
    }

    /// Joins a room; resolves with `{ channel, response }`.
    #[wasm_bindgen(js_name = joinRoom)]
    pub fn join_room(&self, options: JsValue) -> Promise {
        let text = |name: &str| field(&options, name).as_string();
        let Some(room) = text("roomId") else {
            return rejected("roomId is required");
        };
        let Some(user) = text("userId") else {
            return rejected("userId is required");
        };
        let state = match field(&options, "state") {
            s if s.is_undefined() || s.is_null() => Default::default(),
            s => match object_from_js(&s, "state") {
                Ok(state) => state,
                Err(e) => return Promise::reject(&e),
            },
        };
        // `presence: "count"`; anything else is the default, `"events"`.
        let level = match text("presence").as_deref() {
            Some("count") => PresenceLevel::Count,
            _ => PresenceLevel::Events,
        };
        self.shared.borrow_mut().room(&room);
        let joining = Some(room.clone());
        request(&self.shared, joining, move |core, now| {
            core.join_room(now, &room, &user, state, level)
        })
    }

    /// Sends an event of the app's own without an ack; throws `disconnected` when not connected.
    pub fn emit(&self, event: &str, payload: JsValue) -> Result<(), JsValue> {
        let payload = from_js(&payload)?;
        act(&self.shared, |core, _| core.emit(event, payload)).map_err(|e| client_error(&e))
    }

    /// Sends an event and resolves with the server's answer, within `timeoutMs` (default: the
    /// request timeout).
    #[wasm_bindgen(js_name = emitWithAck)]
    pub fn emit_with_ack(
        &self,
        event: String,
        payload: JsValue,
        timeout_ms: Option<f64>,
    ) -> Promise {
        emit_with_ack(&self.shared, event, &payload, timeout_ms)
    }

    /// Adds a listener: `connectionStateChange`, or an event of the app's own by name.
    pub fn on(&self, event: &str, handler: JsValue) -> Result<(), JsValue> {
        self.shared.borrow_mut().listeners.on(event, handler)
    }

    /// Removes every registration of `handler` for `event`.
    pub fn off(&self, event: &str, handler: JsValue) {
        self.shared.borrow_mut().listeners.off(event, &handler);
    }

    /// `connecting`, `connected`, `reconnecting` or `disconnected`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.shared.borrow().core.state().as_str().into()
    }

    /// Leaves every room and closes for good; pending promises reject with `disconnected`.
    pub fn disconnect(&self) -> Promise {
        let lifecycle = self.shared.borrow_mut().lifecycle.take();
        drop(lifecycle);
        act(&self.shared, |core, now| core.disconnect(now));
        Promise::resolve(&JsValue::UNDEFINED)
    }

    /// Testing aid: drops the WebSocket as a network failure would, without telling the client.
    #[wasm_bindgen(js_name = __dropTransport)]
    pub fn drop_transport(&self) {
        if let Some(socket) = &self.shared.borrow().socket {
            socket.drop_connection();
        }
    }
}

/// `emitWithAck` of the client and of a channel.
pub(crate) fn emit_with_ack(
    shared: &Shared,
    event: String,
    payload: &JsValue,
    timeout_ms: Option<f64>,
) -> Promise {
    let payload = match from_js(payload) {
        Ok(payload) => payload,
        Err(e) => return Promise::reject(&e),
    };
    let timeout = timeout_ms.map(|t| Duration::from_millis(t.max(0.0) as u64));
    request(shared, None, move |core, now| {
        core.emit_with_ack(now, &event, payload, timeout)
    })
}

fn rejected(message: &str) -> Promise {
    Promise::reject(&error("invalid_argument", message))
}
