//! Reading typed fields out of JSON values by hand. The wire types are read this way rather than
//! with `#[derive(Deserialize)]`: it is as strict for what rtm needs, and it keeps serde's
//! deserializer machinery (and its error formatting) out of the WebAssembly.

use serde_json::{Map, Value};

/// A string field.
pub fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

/// A boolean field; absent or not a boolean is `false`.
pub fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A non-negative integer field.
pub fn uint(v: &Value, key: &str) -> Option<u64> {
    v.get(key)?.as_u64()
}

/// An object field; `null` or absent is an empty object.
pub fn object_or_empty(v: &Value, key: &str) -> Option<Map<String, Value>> {
    match v.get(key) {
        None | Some(Value::Null) => Some(Map::new()),
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => None,
    }
}

/// An optional field that must have the right type when present: `Ok(None)` when absent or null.
pub fn optional<T>(
    v: &Value,
    key: &str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Result<Option<T>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(field) => read(field).map(Some).ok_or_else(|| wrong_type(key)),
    }
}

/// `optional`'s error, written once rather than in each of its instances.
#[inline(never)]
fn wrong_type(key: &str) -> String {
    format!("{key} has the wrong type")
}
