//! Room storage: the `storage:*` requests, their answers and `storage:changed`.

use rtm_json as json;
use serde_json::{Map, Value};

use crate::fields;

/// The largest `ifVersion` (and version) a client may send: 2^53 − 1, the largest integer a
/// JavaScript number holds exactly.
pub const MAX_VERSION: u64 = (1 << 53) - 1;
/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// The largest value, serialized, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The most keys a room holds.
pub const MAX_KEYS: usize = 256;

/// A key's value and version: `{value, version}` (`null` and 0 when the key is absent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorageEntry {
    /// The value; `Null` when the key is absent.
    pub value: Value,
    /// The key's version: 0 when absent, +1 on every write.
    pub version: u64,
}

/// A whole room's storage: the answer to `storage:get {roomId}` (after `ok: true`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorageEntries {
    /// Every key of the room, in key order.
    pub entries: Vec<(String, StorageEntry)>,
    /// The room's storage revision when it was read: apply only `storage:changed` events with a
    /// larger `rev`.
    pub rev: u64,
}

/// A `storage:changed`: a key was written (or deleted: `value` null, `version` 0).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageChanged {
    /// The room.
    pub room_id: String,
    /// The key.
    pub key: String,
    /// The new value; `Null` after a delete.
    pub value: Value,
    /// The key's new version; 0 after a delete.
    pub version: u64,
    /// Who wrote it: the user the writer joined as; `None` for the backend API or a module.
    pub user_id: Option<String>,
    /// The room's storage revision of this write.
    pub rev: u64,
}

/// A `storage:set` or `storage:delete` request: `{roomId, key, value?, ifVersion?}` (a delete has
/// no `value`).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageWrite {
    /// The room.
    pub room_id: String,
    /// The key.
    pub key: String,
    /// The value to write; `None` for a delete.
    pub value: Option<Value>,
    /// Write only when the key's version is this (0: only when absent).
    pub if_version: Option<u64>,
}

impl StorageEntry {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            (fields::VALUE, self.value.clone()),
            (fields::VERSION, self.version.into()),
        ])
    }

    /// Reads `{value, version}` (a `storage:get {roomId, key}` answer, or a conflict's `current`).
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            value: v.get(fields::VALUE).cloned().unwrap_or(Value::Null),
            version: json::uint(v, fields::VERSION)?,
        })
    }

    /// The `current` entry a `conflict` refusal carries.
    #[inline]
    pub fn from_conflict(refusal: &Value) -> Option<Self> {
        Self::from_json(refusal.get(fields::CURRENT)?)
    }
}

impl StorageEntries {
    /// As the protocol's JSON object: `{entries: {key: {value, version}}, rev}`.
    pub fn to_json(&self) -> Value {
        let mut entries = Map::new();
        for (key, entry) in &self.entries {
            entries.insert(key.clone(), entry.to_json());
        }
        json::object([
            (fields::ENTRIES, Value::Object(entries)),
            (fields::REV, self.rev.into()),
        ])
    }

    /// Reads a `storage:get {roomId}` answer.
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        let mut entries = Vec::new();
        for (key, entry) in v.get(fields::ENTRIES)?.as_object()? {
            entries.push((key.clone(), StorageEntry::from_json(entry)?));
        }
        Some(Self {
            entries,
            rev: json::uint(v, fields::REV)?,
        })
    }
}

impl StorageChanged {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        json::object([
            (fields::ROOM_ID, self.room_id.clone().into()),
            (fields::KEY, self.key.clone().into()),
            (fields::VALUE, self.value.clone()),
            (fields::VERSION, self.version.into()),
            (
                fields::USER_ID,
                self.user_id.clone().map_or(Value::Null, Value::from),
            ),
            (fields::REV, self.rev.into()),
        ])
    }

    /// Reads a `storage:changed`.
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            room_id: json::string(v, fields::ROOM_ID)?,
            key: json::string(v, fields::KEY)?,
            value: v.get(fields::VALUE).cloned().unwrap_or(Value::Null),
            version: json::uint(v, fields::VERSION)?,
            user_id: json::string(v, fields::USER_ID),
            rev: json::uint(v, fields::REV)?,
        })
    }
}

impl StorageWrite {
    /// As the protocol's JSON object, moving its fields there.
    #[inline]
    pub fn into_json(self) -> Value {
        let object = json::object([
            (fields::ROOM_ID, self.room_id.into()),
            (fields::KEY, self.key.into()),
        ]);
        let object = json::with_field(object, fields::VALUE, self.value);
        json::with_field(object, fields::IF_VERSION, self.if_version.map(Value::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_round_trips_with_and_without_a_writer() {
        for user in [Some("alice".to_string()), None] {
            let change = StorageChanged {
                room_id: "deck".into(),
                key: "slide".into(),
                value: json!({"n": 8}),
                version: 5,
                user_id: user,
                rev: 1 << 50,
            };
            assert_eq!(StorageChanged::from_json(&change.to_json()), Some(change));
        }
    }

    #[test]
    fn entries_and_conflicts_read_as_written() {
        let all = json!({"entries": {"a": {"value": 1, "version": 2}, "b": {"value": [], "version": 1}}, "rev": 9});
        let read = StorageEntries::from_json(&all).unwrap();
        assert_eq!(read.entries.len(), 2);
        assert_eq!(read.to_json(), all);
        let refusal = json!({"ok": false, "error": "x", "code": "conflict", "current": {"value": null, "version": 0}});
        assert_eq!(
            StorageEntry::from_conflict(&refusal),
            Some(StorageEntry::default())
        );
    }

    #[test]
    fn a_write_names_only_what_it_has() {
        let delete = StorageWrite {
            room_id: "r".into(),
            key: "k".into(),
            value: None,
            if_version: Some(0),
        };
        assert_eq!(
            delete.into_json(),
            json!({"roomId": "r", "key": "k", "ifVersion": 0})
        );
    }
}
