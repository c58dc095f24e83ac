//! Conversions between Rust and JavaScript values: plain objects out, JSON values in, and errors
//! as `Error` objects with a `code`.

use js_sys::{Error as JsError, Function, Reflect};
use rtm_sdk_core::{Error, json};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

/// `promise.then(callback)` for a callback made with `Closure::once_into_js`.
pub(crate) fn then(promise: &js_sys::Promise, callback: &JsValue) {
    if let Some(then) = function_property(promise, "then") {
        let _ = then.call1(promise, callback);
    }
}

/// A JSON value as a plain JS value, through JSON text: `JSON.parse` is the browser's own.
pub(crate) fn to_js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&json::to_string(value)).unwrap_or(JsValue::UNDEFINED)
}

/// A JS value as JSON (`undefined` is `null`); `Err` for what JSON cannot hold.
pub(crate) fn to_json(value: &JsValue) -> Result<Value, JsValue> {
    if value.is_undefined() {
        return Ok(Value::Null);
    }
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| error("invalid_argument", "the value cannot be sent as JSON"))?;
    json::parse(&text).map_err(|_| error("invalid_argument", "the value cannot be sent as JSON"))
}

/// An `Error` with `message` and a `code` property.
pub(crate) fn error(code: &str, message: &str) -> JsValue {
    let err = JsError::new(message);
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

/// A client error as a JS `Error` with its code.
pub(crate) fn client_error(err: &Error) -> JsValue {
    error(err.code(), &err.to_string())
}

/// A property of an object, if it is a function.
pub(crate) fn function_property(object: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(object, &name.into())
        .ok()
        .and_then(|v| v.dyn_into::<Function>().ok())
}

/// The current time on a monotonic clock, ms (`performance.now()`, or `Date.now()` without it).
pub(crate) fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now) as u64
}

/// Calls each listener with `value`; a listener that throws does not stop the others.
pub(crate) fn notify(listeners: &[Function], value: &JsValue) {
    for listener in listeners {
        let _ = listener.call1(&JsValue::NULL, value);
    }
}
