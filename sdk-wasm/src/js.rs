//! Conversions between Rust and JavaScript values: plain objects out, JSON values in, and errors
//! as `Error` objects with a `code`.

use js_sys::{Error as JsError, Function, Reflect};
use rtm_sdk_core::Error;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

/// A Rust value as a plain JS object, through JSON text: `JSON.parse` is the browser's own, and
/// it keeps a second (de)serializer out of the WebAssembly.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A JS value as JSON (`undefined` is `null`); `Err` for what JSON cannot hold.
pub(crate) fn to_json(value: &JsValue) -> Result<serde_json::Value, JsValue> {
    if value.is_undefined() {
        return Ok(serde_json::Value::Null);
    }
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| error("invalid_argument", "the value cannot be sent as JSON"))?;
    serde_json::from_str(&text)
        .map_err(|_| error("invalid_argument", "the value cannot be sent as JSON"))
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
