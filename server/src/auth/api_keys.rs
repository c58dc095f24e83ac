//! The server's API keys: what the app's backend presents (`Authorization: Bearer <key>`) to use
//! the backend HTTP API and `/metrics`.

use std::sync::Arc;

use subtle::ConstantTimeEq;

/// The configured keys (several, so that one can be rotated without downtime).
#[derive(Debug, Clone, Default)]
pub struct ApiKeys(Arc<[String]>);

impl ApiKeys {
    /// The keys, empty ones ignored.
    pub fn new(keys: &[String]) -> Self {
        Self(
            keys.iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect(),
        )
    }

    /// Whether any key is configured (without one, the backend API is off).
    pub fn enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `presented` is one of the keys. Compared in constant time, so that the time an
    /// answer takes says nothing about how much of a key was right.
    pub fn accepts(&self, presented: &str) -> bool {
        self.0.iter().fold(false, |found, key| {
            found | bool::from(key.as_bytes().ct_eq(presented.as_bytes()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ApiKeys;

    #[test]
    fn any_configured_key_is_accepted() {
        let keys = ApiKeys::new(&["old".into(), " new ".into(), String::new()]);
        assert!(keys.enabled());
        assert!(keys.accepts("old"));
        assert!(keys.accepts("new"));
        assert!(!keys.accepts(""));
        assert!(!keys.accepts("ne"));
        assert!(!keys.accepts("newer"));
    }

    #[test]
    fn no_keys_is_off() {
        assert!(!ApiKeys::new(&[]).enabled());
        assert!(!ApiKeys::new(&[" ".into()]).enabled());
    }
}
