//! Room storage in this process: one map per room, forgotten once the room has had no write for
//! the TTL. A write and its announcement happen under one lock, so announcements follow the
//! order of writes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rtm_protocol::events;
use rtm_protocol::wire::{StorageChanged, StorageEntries, StorageEntry};
use serde_json::Value;

use super::rev_floor;
use super::store::{Outcome, StorageStore, Write};
use crate::bus::{Bus, BusMessage};

/// Room storage in memory.
pub(crate) struct MemoryStorage {
    bus: Bus,
    ttl: Duration,
    max_keys: usize,
    rooms: Mutex<Rooms>,
}

#[derive(Default)]
struct Rooms {
    by_id: HashMap<String, Room>,
    last_sweep: Option<Instant>,
}

struct Room {
    /// key → (version, value).
    keys: BTreeMap<String, (u64, Value)>,
    rev: u64,
    last_write: Instant,
}

impl MemoryStorage {
    pub(crate) fn new(bus: Bus, ttl: Duration, max_keys: usize) -> Self {
        Self {
            bus,
            ttl,
            max_keys,
            rooms: Mutex::new(Rooms::default()),
        }
    }

    /// The room, unless it expired.
    fn live<'a>(&self, rooms: &'a Rooms, room: &str) -> Option<&'a Room> {
        rooms
            .by_id
            .get(room)
            .filter(|r| r.last_write.elapsed() < self.ttl)
    }
}

impl Rooms {
    /// Forgets rooms past their TTL, at most once a minute (or once per TTL).
    fn sweep(&mut self, now: Instant, ttl: Duration) {
        let every = ttl.min(Duration::from_secs(60));
        if self
            .last_sweep
            .is_some_and(|t| now.duration_since(t) < every)
        {
            return;
        }
        self.last_sweep = Some(now);
        self.by_id
            .retain(|_, room| now.duration_since(room.last_write) < ttl);
    }
}

#[async_trait]
impl StorageStore for MemoryStorage {
    async fn get(&self, room: &str, key: &str) -> Result<StorageEntry, redis::RedisError> {
        let rooms = self.rooms.lock().expect("storage lock");
        Ok(self
            .live(&rooms, room)
            .and_then(|r| r.keys.get(key))
            .map(|(version, value)| StorageEntry {
                value: value.clone(),
                version: *version,
            })
            .unwrap_or_default())
    }

    async fn entries(&self, room: &str) -> Result<StorageEntries, redis::RedisError> {
        let rooms = self.rooms.lock().expect("storage lock");
        let Some(room) = self.live(&rooms, room) else {
            return Ok(StorageEntries::default());
        };
        let entries = room.keys.iter().map(|(key, (version, value))| {
            let entry = StorageEntry {
                value: value.clone(),
                version: *version,
            };
            (key.clone(), entry)
        });
        Ok(StorageEntries {
            entries: entries.collect(),
            rev: room.rev,
        })
    }

    async fn write(&self, room: &str, write: Write<'_>) -> Result<Outcome, redis::RedisError> {
        let now = Instant::now();
        let mut rooms = self.rooms.lock().expect("storage lock");
        rooms.sweep(now, self.ttl);
        let expired = rooms
            .by_id
            .get(room)
            .is_some_and(|r| now.duration_since(r.last_write) >= self.ttl);
        if expired && let Some(gone) = rooms.by_id.get_mut(room) {
            // Forgotten, but its rev stays: revisions never go back.
            gone.keys.clear();
        }
        let entry = rooms.by_id.entry(room.to_string()).or_insert_with(|| Room {
            keys: BTreeMap::new(),
            rev: 0,
            last_write: now,
        });
        let current = entry.keys.get(write.key);
        let version = current.map_or(0, |(v, _)| *v);
        if write.if_version.is_some_and(|wanted| wanted != version) {
            let value = current.map_or(Value::Null, |(_, v)| v.clone());
            return Ok(Outcome::Conflict(StorageEntry { value, version }));
        }
        let (version, value) = match write.value {
            None if current.is_none() => return Ok(Outcome::Absent),
            None => {
                entry.keys.remove(write.key);
                (0, Value::Null)
            }
            Some(_) if current.is_none() && entry.keys.len() >= self.max_keys => {
                return Ok(Outcome::Full);
            }
            Some(text) => {
                let value: Value = serde_json::from_str(text).expect("a checked value parses");
                entry
                    .keys
                    .insert(write.key.to_string(), (version + 1, value.clone()));
                (version + 1, value)
            }
        };
        entry.rev = (entry.rev + 1).max(rev_floor());
        entry.last_write = now;
        let changed = StorageChanged {
            room_id: room.to_string(),
            key: write.key.to_string(),
            value,
            version,
            user_id: write.writer.map(str::to_string),
            rev: entry.rev,
        };
        // Under the lock: the room's announcements leave in the order of its writes.
        self.bus.publish_local(BusMessage {
            room: room.to_string(),
            event: events::STORAGE_CHANGED.to_string(),
            data: changed.to_json(),
        });
        Ok(Outcome::Written(version))
    }
}
