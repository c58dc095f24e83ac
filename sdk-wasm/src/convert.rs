//! Values across the boundary: JSON values out to the app as plain JS values (serde-wasm-bindgen),
//! the app's values in as JSON, and errors as `Error` objects with a `code`.

use js_sys::{Error as JsError, JSON, Reflect};
use rtm_json as json;
use rtm_sdk_core::Error;
use serde::ser::{Serialize, Serializer};
use serde_json::Value;
use wasm_bindgen::JsValue;

/// A JSON value as a plain JS value (objects, arrays, numbers, strings, booleans, `null`).
pub(crate) fn to_js(value: &Value) -> JsValue {
    AsJs(value)
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}

/// Serializes a JSON value as `JSON.parse` would read it: every number a JS number (an integer
/// beyond 2^53 rounds, where serde_json's own `Serialize` would make serde-wasm-bindgen fail).
/// It also keeps serde_json's generic `Serialize` out of the WebAssembly.
struct AsJs<'a>(&'a Value);

impl Serialize for AsJs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => serializer.serialize_f64(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => serializer.collect_seq(items.iter().map(AsJs)),
            Value::Object(map) => serializer.collect_map(map.iter().map(|(k, v)| (k, AsJs(v)))),
        }
    }
}

/// The app's value as JSON, with JSON's own rules (`JSON.stringify`: `toJSON`, `undefined`
/// fields dropped; a cycle or a BigInt is an `invalid_argument`), read by the core's parser: what
/// the server gets is what `JSON.stringify` says. `undefined` alone is `null`.
pub(crate) fn from_js(value: &JsValue) -> Result<Value, JsValue> {
    let not_json = |detail: String| {
        error(
            "invalid_argument",
            &format!("the value cannot be sent as JSON{detail}"),
        )
    };
    if value.is_undefined() {
        return Ok(Value::Null);
    }
    let text = JSON::stringify(value).map_err(|e| not_json(format!(": {}", message(&e))))?;
    let text = text.as_string().ok_or_else(|| not_json(String::new()))?;
    json::parse(&text).map_err(|_| not_json(String::new()))
}

/// The app's value as a JSON object (states and patches); `what` names it in the error.
pub(crate) fn object_from_js(value: &JsValue, what: &str) -> Result<rtm_sdk_core::State, JsValue> {
    if !value.is_object() || js_sys::Array::is_array(value) {
        return Err(error(
            "invalid_argument",
            &format!("{what} must be an object"),
        ));
    }
    match from_js(value)? {
        Value::Object(map) => Ok(map),
        _ => Err(error(
            "invalid_argument",
            &format!("{what} must be an object"),
        )),
    }
}

/// An `Error` with `message` and a machine-readable `code`.
pub(crate) fn error(code: &str, message: &str) -> JsValue {
    let err = JsError::new(message);
    let _ = Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

/// A client error as an `Error` with its code; a conflict's also with the key's `current`
/// `{ value, version }`.
pub(crate) fn client_error(err: &Error) -> JsValue {
    let js = error(err.code(), &err.to_string());
    if let Error::Conflict { current, .. } = err {
        let _ = Reflect::set(&js, &"current".into(), &to_js(&current.to_json()));
    }
    js
}

/// What a thrown value says: its `message`, or itself as text.
pub(crate) fn message(thrown: &JsValue) -> String {
    Reflect::get(thrown, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| thrown.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// A property of an object (`undefined` when absent or not an object).
pub(crate) fn field(object: &JsValue, name: &str) -> JsValue {
    if object.is_object() || object.is_function() {
        Reflect::get(object, &name.into()).unwrap_or_default()
    } else {
        JsValue::UNDEFINED
    }
}
