//! `RoomStorage`: a joined room's storage, as `channel.storage` gives it; and `update`'s
//! compare-and-set loop (the core's `Update`), each attempt's answer settling its promise or
//! starting the next attempt after the wait the loop asks for.

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Function, Promise};
use rtm_sdk_core::storage::Update;
use rtm_sdk_core::{Error, RequestId, StorageEntry};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::convert::{client_error, error, field, from_js, to_js};
use crate::driver::{Shared, Waiting, now, pump, request, wait_for};

/// A joined room's storage (see the package's `index.d.ts`): reads from the channel's view,
/// writes to the server.
#[wasm_bindgen(skip_typescript)]
pub struct RoomStorage {
    shared: Shared,
    room: String,
}

impl RoomStorage {
    /// The storage of `room`'s channel.
    pub(crate) fn new(shared: Shared, room: String) -> Self {
        Self { shared, room }
    }

    /// `set` with `Some(value)`, `delete` with `None` (one copy of the request in the
    /// WebAssembly).
    #[inline(never)]
    fn write(&self, key: String, value: Option<Value>, options: &JsValue) -> Promise {
        let if_version = match if_version(options) {
            Ok(if_version) => if_version,
            Err(e) => return Promise::reject(&e),
        };
        let room = self.room.clone();
        request(&self.shared, None, move |core, now| {
            core.storage_write(now, &room, &key, value, if_version)
        })
    }
}

#[wasm_bindgen]
impl RoomStorage {
    /// The value of `key` in the view, or `undefined`.
    pub fn get(&self, key: &str) -> JsValue {
        let inner = self.shared.borrow();
        let value = inner.core.storage(&self.room).and_then(|v| v.value(key));
        value.map_or(JsValue::UNDEFINED, to_js)
    }

    /// Every key of the view: `{ [key]: { value, version } }`.
    pub fn entries(&self) -> JsValue {
        let inner = self.shared.borrow();
        let mut entries = Map::new();
        if let Some(view) = inner.core.storage(&self.room) {
            for (key, entry) in view.entries() {
                entries.insert(key.clone(), entry.to_json());
            }
        }
        to_js(&Value::Object(entries))
    }

    /// Writes `value` to `key` (with `{ ifVersion }`, only at that version); resolves with the
    /// key's new version.
    pub fn set(&self, key: String, value: JsValue, options: JsValue) -> Promise {
        match from_js(&value) {
            Ok(value) => self.write(key, Some(value), &options),
            Err(e) => Promise::reject(&e),
        }
    }

    /// Deletes `key` (with `{ ifVersion }`, only at that version); resolves with whether the
    /// room had it.
    pub fn delete(&self, key: String, options: JsValue) -> Promise {
        self.write(key, None, &options)
    }

    /// Sets `key` to `f(current value)`, retrying on conflict; resolves with `{ value, version }`
    /// of the write.
    pub fn update(&self, key: String, f: Function) -> Promise {
        let current = {
            let inner = self.shared.borrow();
            let view = inner.core.storage(&self.room);
            view.and_then(|v| v.get(&key)).cloned().unwrap_or_default()
        };
        let mut updating = Box::new(Updating {
            room: self.room.clone(),
            key,
            f,
            value: Value::Null,
            retries: Update::new((js_sys::Math::random() * u64::MAX as f64) as u64),
        });
        match attempt(&self.shared, &mut updating, &current) {
            Ok(id) => wait_for(&self.shared, id, None, Some(updating)),
            Err(thrown) => Promise::reject(&thrown),
        }
    }
}

/// An `update` in progress.
pub(crate) struct Updating {
    room: String,
    key: String,
    /// The app's function of the current value.
    f: Function,
    /// What the attempt in flight writes (the promise resolves with it).
    pub(crate) value: Value,
    retries: Update,
}

/// An attempt of `updating`: the app's function of `current`, written on condition that the key
/// is still at its version. Returns the write's request, or what the function threw.
fn attempt(
    shared: &Shared,
    updating: &mut Updating,
    current: &StorageEntry,
) -> Result<RequestId, JsValue> {
    let arg = match current.version {
        0 => JsValue::UNDEFINED,
        _ => to_js(&current.value),
    };
    let value = from_js(&updating.f.call1(&JsValue::UNDEFINED, &arg)?)?;
    updating.value = value.clone();
    let mut inner = shared.borrow_mut();
    let (room, key) = (&updating.room, &updating.key);
    Ok(inner
        .core
        .storage_write(now(), room, key, Some(value), Some(current.version)))
}

/// An attempt of `updating` failed with `err`: after the wait the loop asks for, the next one
/// goes from the key as the conflict found it, and `waiting` waits for it; or the update rejects.
pub(crate) fn retry(
    shared: &Shared,
    mut waiting: Waiting,
    mut updating: Box<Updating>,
    err: Error,
) {
    let (current, wait_ms) = match updating.retries.retry(err) {
        Ok(next) => next,
        Err(err) => {
            let _ = waiting
                .reject
                .call1(&JsValue::UNDEFINED, &client_error(&err));
            return;
        }
    };
    let weak = Rc::downgrade(shared);
    let wait = Timeout::new(wait_ms as u32, move || {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        match attempt(&shared, &mut updating, &current) {
            Ok(id) => {
                waiting.update = Some(updating);
                shared.borrow_mut().waiting.push((id, waiting));
                pump(&shared);
            }
            Err(thrown) => {
                let _ = waiting.reject.call1(&JsValue::UNDEFINED, &thrown);
            }
        }
    });
    wait.forget();
}

/// `options.ifVersion`, when given: an integer from 0.
fn if_version(options: &JsValue) -> Result<Option<u64>, JsValue> {
    let given = field(options, "ifVersion");
    if given.is_undefined() {
        return Ok(None);
    }
    match given.as_f64() {
        Some(v) if v >= 0.0 && v.fract() == 0.0 => Ok(Some(v as u64)),
        _ => Err(error(
            "invalid_argument",
            "ifVersion must be an integer from 0",
        )),
    }
}
