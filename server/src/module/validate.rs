//! Validation of what clients send: ids and state objects, with limits that name the field.

use serde_json::{Map, Value};

use crate::error::AckError;

/// Limits on client input. The defaults are the documented protocol limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest roomId / userId, in bytes of UTF-8.
    pub max_id_bytes: usize,
    /// Largest `state` / `patchState`, in bytes of serialized JSON.
    pub max_state_bytes: usize,
    /// Longest chat message, in bytes of UTF-8.
    pub max_message_bytes: usize,
    /// The most rooms one connection may be joined to at once.
    pub max_rooms_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_id_bytes: 256,
            max_state_bytes: 8 * 1024,
            max_message_bytes: 4 * 1024,
            max_rooms_per_connection: 100,
        }
    }
}

/// The payload as a JSON object, or `invalid_payload`.
pub fn object(payload: &Value) -> Result<&Map<String, Value>, AckError> {
    match payload {
        Value::Object(map) => Ok(map),
        _ => Err(AckError::invalid("payload must be a JSON object")),
    }
}

/// The payload as a JSON object, where no payload (`null`) is allowed too.
pub fn optional_object(payload: &Value) -> Result<Option<&Map<String, Value>>, AckError> {
    match payload {
        Value::Null => Ok(None),
        other => object(other).map(Some),
    }
}

impl Limits {
    /// A required id field (`roomId`, `userId`): a non-empty string within the byte limit.
    pub fn id(&self, obj: &Map<String, Value>, field: &str) -> Result<String, AckError> {
        match obj.get(field) {
            Some(Value::String(s)) => self.check_id(s, field).map(|()| s.clone()),
            None | Some(Value::Null) => Err(AckError::invalid(format!("{field} is required"))),
            Some(_) => Err(AckError::invalid(format!("{field} must be a string"))),
        }
    }

    /// An optional id field: absent or null is `None`, otherwise as [`Limits::id`].
    pub fn optional_id(
        &self,
        obj: Option<&Map<String, Value>>,
        field: &str,
    ) -> Result<Option<String>, AckError> {
        match obj.and_then(|o| o.get(field)) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.id(obj.expect("field found in it"), field).map(Some),
        }
    }

    /// Checks an id (a path segment, say) like an id field: non-empty, within the byte limit.
    pub fn check_id(&self, s: &str, field: &str) -> Result<(), AckError> {
        if s.is_empty() {
            return Err(AckError::invalid(format!("{field} must not be empty")));
        }
        if s.len() > self.max_id_bytes {
            return Err(AckError::invalid(format!(
                "{field} must be at most {} bytes",
                self.max_id_bytes
            )));
        }
        Ok(())
    }

    /// An optional state object (`state`, `patchState`): absent or null is `None`; otherwise a
    /// JSON object of at most `max_state_bytes` serialized.
    pub fn state(
        &self,
        obj: Option<&Map<String, Value>>,
        field: &str,
    ) -> Result<Option<Map<String, Value>>, AckError> {
        match obj.and_then(|o| o.get(field)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => {
                let size = serde_json::to_vec(map)
                    .map(|v| v.len())
                    .unwrap_or(usize::MAX);
                if size > self.max_state_bytes {
                    return Err(AckError::invalid(format!(
                        "{field} must be at most {} bytes serialized, got {size}",
                        self.max_state_bytes
                    )));
                }
                Ok(Some(map.clone()))
            }
            Some(_) => Err(AckError::invalid(format!("{field} must be a JSON object"))),
        }
    }

    /// A required chat message: a non-empty string within `max_message_bytes`.
    pub fn message(&self, obj: &Map<String, Value>, field: &str) -> Result<String, AckError> {
        match obj.get(field) {
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(AckError::invalid(format!("{field} must not be empty")))
            }
            Some(Value::String(s)) if s.len() > self.max_message_bytes => Err(AckError::invalid(
                format!("{field} must be at most {} bytes", self.max_message_bytes),
            )),
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) => Err(AckError::invalid(format!("{field} is required"))),
            Some(_) => Err(AckError::invalid(format!("{field} must be a string"))),
        }
    }
}

/// An optional positive integer field (`limit`), clamped to `max`; absent gives `default`.
pub fn limit(
    obj: Option<&Map<String, Value>>,
    field: &str,
    default: usize,
    max: usize,
) -> Result<usize, AckError> {
    match obj.and_then(|o| o.get(field)) {
        None | Some(Value::Null) => Ok(default.min(max)),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok((n as usize).min(max)),
            _ => Err(AckError::invalid(format!(
                "{field} must be a positive integer"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn ids_are_checked_and_named() {
        let l = Limits::default();
        assert_eq!(l.id(&obj(json!({"roomId": "a"})), "roomId").unwrap(), "a");
        let e = l.id(&obj(json!({})), "roomId").unwrap_err();
        assert!(e.error.contains("roomId is required"));
        let e = l.id(&obj(json!({"roomId": ""})), "roomId").unwrap_err();
        assert!(e.error.contains("must not be empty"));
        let e = l.id(&obj(json!({"userId": 5})), "userId").unwrap_err();
        assert!(e.error.contains("userId must be a string"));
        let long = "x".repeat(257);
        let e = l.id(&obj(json!({"roomId": long})), "roomId").unwrap_err();
        assert!(e.error.contains("at most 256 bytes"));
        assert!(
            l.id(&obj(json!({"roomId": "x".repeat(256)})), "roomId")
                .is_ok()
        );
    }

    #[test]
    fn state_must_be_a_small_object() {
        let l = Limits::default();
        let o = obj(json!({"state": {"a": 1}, "bad": [1], "big": {"k": "x".repeat(9000)}}));
        assert_eq!(l.state(Some(&o), "state").unwrap().unwrap()["a"], 1);
        assert!(l.state(Some(&o), "missing").unwrap().is_none());
        assert!(
            l.state(Some(&o), "bad")
                .unwrap_err()
                .error
                .contains("bad must be a JSON object")
        );
        assert!(
            l.state(Some(&o), "big")
                .unwrap_err()
                .error
                .contains("at most 8192 bytes")
        );
    }

    #[test]
    fn limit_defaults_and_clamps() {
        let o = obj(json!({"limit": 500, "zero": 0, "neg": -1}));
        assert_eq!(limit(Some(&o), "limit", 50, 100).unwrap(), 100);
        assert_eq!(limit(Some(&o), "none", 50, 100).unwrap(), 50);
        assert!(limit(Some(&o), "zero", 50, 100).is_err());
        assert!(limit(Some(&o), "neg", 50, 100).is_err());
    }
}
