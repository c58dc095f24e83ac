//! `PresenceChannel`: one joined room, as the app holds it.

use js_sys::Promise;
use rtm_protocol::wire::snapshot_json;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::client::emit_with_ack;
use crate::convert::{client_error, field, from_js, object_from_js, to_js};
use crate::driver::{Shared, act, request};
use crate::storage::RoomStorage;

/// One joined room (see the package's `index.d.ts`). It rejoins by itself after a reconnect.
#[wasm_bindgen(skip_typescript)]
pub struct PresenceChannel {
    shared: Shared,
    room: String,
}

impl PresenceChannel {
    /// The channel of `room`, made when its join succeeds.
    pub(crate) fn new(shared: Shared, room: String) -> Self {
        Self { shared, room }
    }
}

#[wasm_bindgen]
impl PresenceChannel {
    /// The room's id.
    #[wasm_bindgen(getter, js_name = roomId)]
    pub fn room_id(&self) -> String {
        self.room.clone()
    }

    /// This connection's identity in the room (`SelfInfo`) while joined, else `null`.
    #[wasm_bindgen(getter, js_name = self)]
    pub fn self_info(&self) -> JsValue {
        let me = self.shared.borrow().core.self_info(&self.room);
        me.map_or(JsValue::NULL, |me| to_js(&me.to_json()))
    }

    /// The room's users, their tabs merged.
    pub fn members(&self) -> JsValue {
        let inner = self.shared.borrow();
        let members = inner
            .core
            .view(&self.room)
            .map(|v| v.members())
            .unwrap_or_default();
        to_js(&Value::Array(members.iter().map(|m| m.to_json()).collect()))
    }

    /// The room's connections.
    pub fn connections(&self) -> JsValue {
        let inner = self.shared.borrow();
        let connections = inner.core.view(&self.room).map(|v| v.connections());
        to_js(&snapshot_json(&connections.unwrap_or_default()))
    }

    /// How many connections the room has (see `index.d.ts`), or `null` before the first count.
    pub fn count(&self) -> JsValue {
        let count = self.shared.borrow().core.count(&self.room);
        count.map_or(JsValue::NULL, |n| JsValue::from_f64(n as f64))
    }

    /// Whether the view holds the whole room (every page of a large room's snapshot read).
    #[wasm_bindgen(getter)]
    pub fn complete(&self) -> bool {
        self.shared.borrow().core.is_complete(&self.room)
    }

    /// The room's storage.
    #[wasm_bindgen(getter)]
    pub fn storage(&self) -> RoomStorage {
        RoomStorage::new(self.shared.clone(), self.room.clone())
    }

    /// Adds a listener: a channel event (`presenceEvent`, `snapshot`, ...) or the app's own.
    pub fn on(&self, event: &str, handler: JsValue) -> Result<(), JsValue> {
        self.shared.borrow_mut().room(&self.room).on(event, handler)
    }

    /// Removes every registration of `handler` for `event`.
    pub fn off(&self, event: &str, handler: JsValue) {
        self.shared
            .borrow_mut()
            .room(&self.room)
            .off(event, &handler);
    }

    /// Merges `patch` into this connection's state and sends it (see `presence.throttleMs`).
    #[wasm_bindgen(js_name = updateState)]
    pub fn update_state(&self, patch: JsValue) -> Promise {
        let patch = match object_from_js(&patch, "the patch") {
            Ok(patch) => patch,
            Err(e) => return Promise::reject(&e),
        };
        let room = self.room.clone();
        request(&self.shared, None, move |core, now| {
            core.update_state(now, &room, patch)
        })
    }

    /// `emit(event, payload)` sends; with `{ ack: true, timeoutMs }` it returns the promise of
    /// the server's answer.
    pub fn emit(
        &self,
        event: String,
        payload: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        if field(&options, "ack").is_truthy() {
            let timeout = field(&options, "timeoutMs").as_f64();
            return Ok(emit_with_ack(&self.shared, event, &payload, timeout).into());
        }
        let payload = from_js(&payload)?;
        act(&self.shared, |core, _| core.emit(&event, payload)).map_err(|e| client_error(&e))?;
        Ok(JsValue::UNDEFINED)
    }

    /// Leaves the room; resolves after the server's ack or its timeout (it never rejects).
    pub fn leave(&self) -> Promise {
        self.shared.borrow_mut().forget_room(&self.room);
        let room = self.room.clone();
        request(&self.shared, None, move |core, now| core.leave(now, &room))
    }
}
