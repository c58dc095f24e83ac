//! Room storage in Redis: a hash per room (key → `<version> <value JSON>`) and its `rev`, both
//! in the room's slot. A write is one Lua script: compare, write, count the keys, bump the rev,
//! refresh the TTL and publish `storage:changed` on the room's channel, atomically across nodes.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use rtm_protocol::wire::{StorageEntries, StorageEntry};
use rtm_protocol::{events, fields};
use serde_json::Value;

use super::store::{Outcome, StorageStore, Write};
use crate::redis::keys;
use crate::redis::{RedisConnection, StoreConn};

/// Room storage in Redis (one Redis or a cluster), shared by every node on it.
pub(crate) struct RedisStorage {
    conn: StoreConn,
    publish: &'static str,
    ttl_ms: u64,
    max_keys: usize,
    write: Script,
    entries: Script,
}

impl RedisStorage {
    pub(crate) fn new(redis: &RedisConnection, ttl: Duration, max_keys: usize) -> Self {
        Self {
            conn: redis.conn.clone(),
            publish: redis.publish_command(),
            ttl_ms: ttl.as_millis().clamp(1, i64::MAX as u128) as u64,
            max_keys,
            write: Script::new(include_str!("lua/write.lua")),
            // The entries and the rev they go with, read together.
            entries: Script::new(
                "return {redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[1])}",
            ),
        }
    }
}

#[async_trait]
impl StorageStore for RedisStorage {
    async fn get(&self, room: &str, key: &str) -> Result<StorageEntry, redis::RedisError> {
        let [entries, _] = keys::storage(room);
        let stored: Option<String> = redis::cmd("HGET")
            .arg(entries)
            .arg(key)
            .query_async(&mut self.conn.clone())
            .await?;
        stored.as_deref().map_or(Ok(StorageEntry::default()), entry)
    }

    async fn entries(&self, room: &str) -> Result<StorageEntries, redis::RedisError> {
        let [entries, rev] = keys::storage(room);
        let (rev, flat): (String, Vec<String>) = self
            .entries
            .key(entries)
            .key(rev)
            .invoke_async(&mut self.conn.clone())
            .await?;
        let mut read = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            read.push((pair[0].clone(), entry(&pair[1])?));
        }
        read.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(StorageEntries {
            entries: read,
            rev: rev.parse().map_err(|_| malformed("rev"))?,
        })
    }

    async fn write(&self, room: &str, write: Write<'_>) -> Result<Outcome, redis::RedisError> {
        let [entries, rev] = keys::storage(room);
        let reply: Vec<String> = self
            .write
            .key(entries)
            .key(rev)
            .arg(write.key)
            .arg(write.value.unwrap_or(""))
            .arg(write.if_version.map(|v| v.to_string()).unwrap_or_default())
            .arg(self.max_keys)
            .arg(self.ttl_ms)
            .arg(self.publish)
            .arg(keys::room_channel(room))
            .arg(announcement_head(room, write.key, write.writer))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let version = |at: usize| -> Result<u64, redis::RedisError> {
            reply
                .get(at)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| malformed("version"))
        };
        match reply.first().map(String::as_str) {
            Some("written") => Ok(Outcome::Written(version(1)?)),
            Some("absent") => Ok(Outcome::Absent),
            Some("full") => Ok(Outcome::Full),
            Some("conflict") => {
                let value = match reply.get(2).map(String::as_str) {
                    None | Some("") => Value::Null,
                    Some(text) => serde_json::from_str(text).map_err(|_| malformed("value"))?,
                };
                Ok(Outcome::Conflict(StorageEntry {
                    value,
                    version: version(1)?,
                }))
            }
            _ => Err(malformed("reply")),
        }
    }
}

/// An entry from its stored `<version> <value JSON>`.
fn entry(stored: &str) -> Result<StorageEntry, redis::RedisError> {
    let (version, value) = stored.split_once(' ').ok_or_else(|| malformed("entry"))?;
    Ok(StorageEntry {
        value: serde_json::from_str(value).map_err(|_| malformed("value"))?,
        version: version.parse().map_err(|_| malformed("version"))?,
    })
}

/// A store reply that is not what the scripts write.
fn malformed(what: &'static str) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "malformed storage",
        what.into(),
    ))
}

/// The `storage:changed` bus message's JSON up to its value; the script appends
/// `<value>,"version":N,"rev":R}}`.
fn announcement_head(room: &str, key: &str, writer: Option<&str>) -> String {
    let text = |s: &str| Value::from(s).to_string();
    format!(
        r#"{{"room":{room},"event":{event},"data":{{"{rid}":{room},"{k}":{key},"{u}":{user},"{v}":"#,
        room = text(room),
        event = text(events::STORAGE_CHANGED),
        rid = fields::ROOM_ID,
        k = fields::KEY,
        key = text(key),
        u = fields::USER_ID,
        user = writer.map_or_else(|| "null".to_string(), text),
        v = fields::VALUE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the script appends after the head.
    fn tail(value: &str, version: u64, rev: u64) -> String {
        format!(r#"{value},"version":{version},"rev":{rev}}}}}"#)
    }

    #[test]
    fn an_announcement_is_a_bus_message_of_a_storage_changed() {
        let text = announcement_head("r\"1", "k", Some("alice")) + &tail(r#"{"a":1}"#, 3, 99);
        let message: crate::bus::BusMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (message.room.as_str(), message.event.as_str()),
            ("r\"1", "storage:changed")
        );
        assert_eq!(
            message.data,
            json!({"roomId": "r\"1", "key": "k", "userId": "alice", "value": {"a": 1}, "version": 3, "rev": 99})
        );
        let deleted = announcement_head("r", "k", None) + &tail("null", 0, 5);
        let deleted: crate::bus::BusMessage = serde_json::from_str(&deleted).unwrap();
        assert_eq!(
            (&deleted.data["userId"], &deleted.data["value"]),
            (&json!(null), &json!(null))
        );
    }

    #[test]
    fn an_entry_reads_as_stored() {
        assert_eq!(
            entry(r#"12 {"a":" b"}"#).unwrap(),
            StorageEntry {
                value: json!({"a": " b"}),
                version: 12
            }
        );
        assert!(entry("12").is_err() && entry("x {}").is_err());
    }
}
