//! `RealtimeClient`, as JavaScript sees it.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use rtm_sdk_core::{Client, ClientConfig, RequestId};
use wasm_bindgen::prelude::*;

use crate::driver::{Inner, Shared, Waiting, act};
use crate::js::{error, function_property, to_json};
use crate::lifecycle::Lifecycle;

/// A connection to an rtm server. See the TypeScript declarations for the full API.
#[wasm_bindgen(skip_typescript)]
pub struct RealtimeClient {
    shared: Shared,
}

/// Creates the promise of request `id` (made by `start`) and carries out what follows.
pub(crate) fn promise(
    shared: &Shared,
    join_room: Option<String>,
    start: impl FnOnce(&mut Client, u64) -> RequestId,
) -> Promise {
    let mut join_room = join_room;
    let mut start = Some(start);
    Promise::new(&mut |resolve, reject| {
        let start = start.take().expect("the executor runs once");
        {
            let mut inner = shared.borrow_mut();
            let id = start(&mut inner.core, crate::js::now_ms());
            inner.waiting.push((
                id,
                Waiting {
                    resolve,
                    reject,
                    join_room: join_room.take(),
                },
            ));
        }
        crate::driver::pump(shared);
    })
}

#[wasm_bindgen]
impl RealtimeClient {
    /// `new RealtimeClient({ baseUrl, authProvider?, reconnection?, presence?, connectTimeoutMs?,
    /// requestTimeoutMs? })`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<RealtimeClient, JsValue> {
        let auth = function_property(&options, "authProvider");
        let plain = js_sys::Object::assign(&js_sys::Object::new(), options.unchecked_ref());
        let _ = js_sys::Reflect::delete_property(&plain, &"authProvider".into());
        let options_json = to_json(&plain)?;
        if options_json
            .get("baseUrl")
            .and_then(|v| v.as_str())
            .is_none_or(str::is_empty)
        {
            return Err(error("invalid_argument", "baseUrl is required"));
        }
        let config = ClientConfig::from_json(&options_json)
            .map_err(|e| error("invalid_argument", &format!("invalid options: {e}")))?;
        let seed = (js_sys::Math::random() * u64::MAX as f64) as u64;
        let shared: Shared = Rc::new(RefCell::new(Inner::new(Client::new(config, seed), auth)));
        let lifecycle = Lifecycle::attach(&shared);
        shared.borrow_mut().lifecycle = lifecycle;
        Ok(Self { shared })
    }

    /// Connects; resolves when connected, rejects with `connect_refused` or `transport`.
    pub fn connect(&self) -> Promise {
        promise(&self.shared, None, |core, now| core.connect(now))
    }

    /// Joins a room; resolves with `{ channel, response }`.
    #[wasm_bindgen(js_name = joinRoom)]
    pub fn join_room(&self, options: JsValue) -> Result<Promise, JsValue> {
        let json = to_json(&options)?;
        let text = |field: &str| json.get(field).and_then(|v| v.as_str()).map(str::to_string);
        let room = text("roomId").ok_or_else(|| error("invalid_argument", "roomId is required"))?;
        let user = text("userId").ok_or_else(|| error("invalid_argument", "userId is required"))?;
        let state = match json.get("state") {
            None | Some(serde_json::Value::Null) => Default::default(),
            Some(serde_json::Value::Object(map)) => map.clone(),
            Some(_) => return Err(error("invalid_argument", "state must be an object")),
        };
        self.shared.borrow_mut().channels.room(&room);
        Ok(promise(
            &self.shared,
            Some(room.clone()),
            move |core, now| core.join(now, &room, &user, state),
        ))
    }

    /// Sends an event without an ack; throws `disconnected` when not connected.
    pub fn emit(&self, event: &str, payload: JsValue) -> Result<(), JsValue> {
        let payload = to_json(&payload)?;
        act(&self.shared, |core, _| core.emit(event, payload))
            .map_err(|e| crate::js::client_error(&e))
    }

    /// Sends an event and resolves with the server's answer, or rejects (`timeout`, `disconnected`,
    /// or the server's code).
    #[wasm_bindgen(js_name = emitWithAck)]
    pub fn emit_with_ack(
        &self,
        event: String,
        payload: JsValue,
        timeout_ms: Option<f64>,
    ) -> Result<Promise, JsValue> {
        let payload = to_json(&payload)?;
        let timeout = timeout_ms.map(|t| t.max(0.0) as u64);
        Ok(promise(&self.shared, None, move |core, now| {
            core.emit_with_ack(now, &event, payload, timeout)
        }))
    }

    /// Adds a listener (`connectionStateChange`).
    pub fn on(&self, name: &str, handler: Function) {
        self.shared.borrow_mut().listeners.on(name, handler);
    }

    /// Removes a listener.
    pub fn off(&self, name: &str, handler: &Function) {
        self.shared.borrow_mut().listeners.off(name, handler);
    }

    /// `connecting`, `connected`, `reconnecting` or `disconnected`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.shared.borrow().core.state().as_str().to_string()
    }

    /// Leaves every room and closes; pending promises reject with `disconnected`.
    pub fn disconnect(&self) -> Promise {
        act(&self.shared, |core, now| core.disconnect(now));
        self.shared.borrow_mut().lifecycle = None;
        Promise::resolve(&JsValue::UNDEFINED)
    }

    /// Testing aid: drops the WebSocket as a network failure would, without telling the client.
    #[doc(hidden)]
    #[wasm_bindgen(js_name = __dropTransport)]
    pub fn drop_transport(&self) {
        if let Some(socket) = self.shared.borrow().socket.as_ref() {
            let _ = socket.ws.close();
        }
    }
}
