//! What a storage write must be, whoever sends it: a client, the backend API or a module.

use rtm_protocol::fields;
use rtm_protocol::wire::{MAX_KEY_BYTES, MAX_VALUE_BYTES, MAX_VERSION};
use serde_json::Value;

use crate::error::{AckError, ErrorCode};

/// A key: 1 to [`MAX_KEY_BYTES`] bytes.
pub(super) fn key(key: &str) -> Result<(), AckError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(AckError::invalid(format!(
            "{} must be a string of 1 to {MAX_KEY_BYTES} bytes",
            fields::KEY
        )));
    }
    Ok(())
}

/// An `ifVersion`: at most [`MAX_VERSION`].
pub(super) fn if_version(version: Option<u64>) -> Result<(), AckError> {
    match version {
        Some(v) if v > MAX_VERSION => Err(AckError::invalid(format!(
            "{} must be an integer from 0 to {MAX_VERSION}",
            fields::IF_VERSION
        ))),
        _ => Ok(()),
    }
}

/// A value as the JSON text stored: not `null`, at most [`MAX_VALUE_BYTES`] serialized.
pub(super) fn value(value: &Value) -> Result<String, AckError> {
    if value.is_null() {
        return Err(AckError::invalid(format!(
            "{} must not be null: delete the key instead",
            fields::VALUE
        )));
    }
    let text = value.to_string();
    if text.len() > MAX_VALUE_BYTES {
        return Err(AckError::new(
            ErrorCode::LimitExceeded,
            format!(
                "{} must be at most {MAX_VALUE_BYTES} bytes serialized, got {}",
                fields::VALUE,
                text.len()
            ),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_values_and_versions_are_bounded() {
        assert!(key("k").is_ok() && key(&"k".repeat(128)).is_ok());
        assert!(key("").is_err() && key(&"k".repeat(129)).is_err());
        assert!(if_version(Some(MAX_VERSION)).is_ok() && if_version(None).is_ok());
        assert!(if_version(Some(MAX_VERSION + 1)).is_err());
        assert_eq!(value(&json!({"a": [1]})).unwrap(), r#"{"a":[1]}"#);
        assert_eq!(
            value(&Value::Null).unwrap_err().code,
            ErrorCode::InvalidPayload
        );
        let big = json!("x".repeat(MAX_VALUE_BYTES));
        assert_eq!(value(&big).unwrap_err().code, ErrorCode::LimitExceeded);
        assert!(value(&json!("x".repeat(MAX_VALUE_BYTES - 2))).is_ok());
    }
}
