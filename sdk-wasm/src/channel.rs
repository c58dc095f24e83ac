//! `PresenceChannel`, as JavaScript sees it.

use js_sys::{Function, Promise, Reflect};
use rtm_sdk_core::Member;
use rtm_sdk_core::wire::snapshot_json;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::client::promise;
use crate::driver::{Shared, act};
use crate::js::{error, to_js, to_json};

/// One joined room. See the TypeScript declarations for the full API.
#[wasm_bindgen(skip_typescript)]
pub struct PresenceChannel {
    shared: Shared,
    room: String,
}

impl PresenceChannel {
    pub(crate) fn new(shared: Shared, room: String) -> Self {
        Self { shared, room }
    }
}

#[wasm_bindgen]
impl PresenceChannel {
    /// The room.
    #[wasm_bindgen(getter, js_name = roomId)]
    pub fn room_id(&self) -> String {
        self.room.clone()
    }

    /// Adds a listener for a channel event or a custom event name.
    pub fn on(&self, name: &str, handler: Function) {
        self.shared
            .borrow_mut()
            .channels
            .room(&self.room)
            .on(name, handler);
    }

    /// Removes a listener.
    pub fn off(&self, name: &str, handler: &Function) {
        self.shared
            .borrow_mut()
            .channels
            .room(&self.room)
            .off(name, handler);
    }

    /// The room's users, their tabs merged.
    pub fn members(&self) -> JsValue {
        let inner = self.shared.borrow();
        to_js(
            &inner
                .core
                .view(&self.room)
                .map(|v| v.members().iter().map(Member::to_json).collect())
                .map_or(Value::Array(Vec::new()), Value::Array),
        )
    }

    /// The room's connections.
    pub fn connections(&self) -> JsValue {
        let inner = self.shared.borrow();
        to_js(
            &inner
                .core
                .view(&self.room)
                .map_or(Value::Array(Vec::new()), |v| {
                    snapshot_json(&v.connections())
                }),
        )
    }

    /// This connection's `{ connId, epoch }` while joined.
    #[wasm_bindgen(getter, js_name = self)]
    pub fn self_info(&self) -> JsValue {
        let info = self.shared.borrow().core.self_info(&self.room);
        info.map_or(JsValue::NULL, |info| to_js(&info.to_json()))
    }

    /// Merges `patch` into this connection's state and sends it at once.
    #[wasm_bindgen(js_name = updateState)]
    pub fn update_state(&self, patch: JsValue) -> Result<Promise, JsValue> {
        let Value::Object(patch) = to_json(&patch)? else {
            return Err(error("invalid_argument", "the patch must be an object"));
        };
        let room = self.room.clone();
        Ok(promise(&self.shared, None, move |core, now| {
            core.update_state(now, &room, patch)
        }))
    }

    /// `emit(name, payload)` sends; `emit(name, payload, { ack: true, timeoutMs })` returns a
    /// promise of the answer.
    pub fn emit(
        &self,
        event: String,
        payload: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let payload = to_json(&payload)?;
        let ack = Reflect::get(&options, &"ack".into()).is_ok_and(|v| v.is_truthy());
        if !ack {
            act(&self.shared, |core, _| core.emit(&event, payload))
                .map_err(|e| crate::js::client_error(&e))?;
            return Ok(JsValue::UNDEFINED);
        }
        let timeout = Reflect::get(&options, &"timeoutMs".into())
            .ok()
            .and_then(|v| v.as_f64())
            .map(|t| t.max(0.0) as u64);
        Ok(promise(&self.shared, None, move |core, now| {
            core.emit_with_ack(now, &event, payload, timeout)
        })
        .into())
    }

    /// Leaves the room; resolves after the server's ack or its timeout (it never rejects).
    pub fn leave(&self) -> Promise {
        let room = self.room.clone();
        self.shared.borrow_mut().channels.remove(&room);
        promise(&self.shared, None, move |core, now| core.leave(now, &room))
    }
}
