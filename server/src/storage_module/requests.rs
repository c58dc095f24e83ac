//! Storage's requests as its handlers take them: the types checked here, the limits by
//! [`Storage`](crate::storage::Storage) (the same for the backend API and modules).

use rtm_protocol::fields;
use rtm_protocol::wire::MAX_VERSION;
use serde_json::{Map, Value};

use crate::error::AckError;
use crate::module::FromPayload;
use crate::module::validate::{self, Limits};

/// `storage:set {roomId, key, value, ifVersion?}`.
pub(crate) struct Set {
    pub(crate) room: String,
    pub(crate) key: String,
    pub(crate) value: Value,
    pub(crate) if_version: Option<u64>,
}

/// `storage:get {roomId, key?}`: one key, or the whole room without one.
pub(crate) struct Get {
    pub(crate) room: String,
    pub(crate) key: Option<String>,
}

/// `storage:delete {roomId, key, ifVersion?}`.
pub(crate) struct Delete {
    pub(crate) room: String,
    pub(crate) key: String,
    pub(crate) if_version: Option<u64>,
}

impl FromPayload for Set {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        Ok(Self {
            room: limits.id(obj, fields::ROOM_ID)?,
            key: key(obj)?.ok_or_else(|| required(fields::KEY))?,
            value: obj.get(fields::VALUE).cloned().unwrap_or(Value::Null),
            if_version: if_version(obj)?,
        })
    }
}

impl FromPayload for Get {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        Ok(Self {
            room: limits.id(obj, fields::ROOM_ID)?,
            key: key(obj)?,
        })
    }
}

impl FromPayload for Delete {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        Ok(Self {
            room: limits.id(obj, fields::ROOM_ID)?,
            key: key(obj)?.ok_or_else(|| required(fields::KEY))?,
            if_version: if_version(obj)?,
        })
    }
}

fn required(field: &str) -> AckError {
    AckError::invalid(format!("{field} is required"))
}

/// `key`: a string when present (its length is the store's check).
fn key(obj: &Map<String, Value>) -> Result<Option<String>, AckError> {
    match obj.get(fields::KEY) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(key)) => Ok(Some(key.clone())),
        Some(_) => Err(AckError::invalid(format!(
            "{} must be a string",
            fields::KEY
        ))),
    }
}

/// `ifVersion`: an integer from 0 to 2^53 − 1 when present.
fn if_version(obj: &Map<String, Value>) -> Result<Option<u64>, AckError> {
    match obj.get(fields::IF_VERSION) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n <= MAX_VERSION => Ok(Some(n)),
            _ => Err(AckError::invalid(format!(
                "{} must be an integer from 0 to {MAX_VERSION}",
                fields::IF_VERSION
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(payload: Value) -> Result<Set, AckError> {
        Set::from_payload(payload, &Limits::default())
    }

    #[test]
    fn requests_are_read_and_bad_types_named() {
        let ok = set(json!({"roomId": "r", "key": "k", "value": [1], "ifVersion": 0})).unwrap();
        assert_eq!((ok.key.as_str(), ok.if_version), ("k", Some(0)));
        for (bad, field) in [
            (json!({"roomId": "r", "value": 1}), "key is required"),
            (
                json!({"roomId": "r", "key": 5, "value": 1}),
                "key must be a string",
            ),
            (
                json!({"roomId": "r", "key": "k", "value": 1, "ifVersion": -1}),
                "ifVersion",
            ),
            (
                json!({"roomId": "r", "key": "k", "value": 1, "ifVersion": 1.5}),
                "ifVersion",
            ),
            (
                json!({"roomId": "r", "key": "k", "value": 1, "ifVersion": 9007199254740992u64}),
                "ifVersion",
            ),
            (
                json!({"roomId": "r", "key": "k", "value": 1, "ifVersion": "1"}),
                "ifVersion",
            ),
            (json!({"key": "k", "value": 1}), "roomId"),
        ] {
            let refused = set(bad).err().expect("refused");
            assert!(refused.error.contains(field), "{}", refused.error);
        }
        let all = Get::from_payload(json!({"roomId": "r"}), &Limits::default()).unwrap();
        assert!(all.key.is_none());
        assert!(Delete::from_payload(json!({"roomId": "r"}), &Limits::default()).is_err());
    }
}
