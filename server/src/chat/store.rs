//! Where chat history lives: a bounded list per room, in memory or in Redis. Appending also
//! broadcasts the message, in one step.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;
use serde_json::Value;

use crate::bus::{self, Bus, BusMessage, KEY_PREFIX};

/// The event a new message is broadcast as.
pub(crate) const MESSAGE_EVENT: &str = "chat:message";

/// Chat history storage.
#[async_trait]
pub(crate) trait ChatStore: Send + Sync + 'static {
    /// Appends `message` to the room's history (dropping the oldest beyond the limit) and
    /// broadcasts it to the room.
    async fn append(&self, room: &str, message: Value) -> Result<(), redis::RedisError>;

    /// The last `limit` messages of the room, oldest first.
    async fn history(&self, room: &str, limit: usize) -> Result<Vec<Value>, redis::RedisError>;
}

/// History in this process.
pub(crate) struct MemoryChatStore {
    bus: Bus,
    max: usize,
    rooms: Mutex<HashMap<String, VecDeque<Value>>>,
}

impl MemoryChatStore {
    pub(crate) fn new(bus: Bus, max: usize) -> Self {
        Self {
            bus,
            max,
            rooms: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl ChatStore for MemoryChatStore {
    async fn append(&self, room: &str, message: Value) -> Result<(), redis::RedisError> {
        let mut rooms = self.rooms.lock().expect("chat lock");
        let history = rooms.entry(room.to_string()).or_default();
        history.push_back(message.clone());
        while history.len() > self.max {
            history.pop_front();
        }
        self.bus.publish_local(BusMessage {
            room: room.to_string(),
            event: MESSAGE_EVENT.to_string(),
            data: message,
        });
        Ok(())
    }

    async fn history(&self, room: &str, limit: usize) -> Result<Vec<Value>, redis::RedisError> {
        let rooms = self.rooms.lock().expect("chat lock");
        let Some(history) = rooms.get(room) else {
            return Ok(Vec::new());
        };
        let skip = history.len().saturating_sub(limit);
        Ok(history.iter().skip(skip).cloned().collect())
    }
}

/// History in Redis: a capped list per room; append, trim and publish are one script.
pub(crate) struct RedisChatStore {
    conn: ConnectionManager,
    max: usize,
    append: Script,
}

impl RedisChatStore {
    pub(crate) fn new(conn: ConnectionManager, max: usize) -> Self {
        Self {
            conn,
            max,
            append: Script::new(
                "redis.call('RPUSH', KEYS[1], ARGV[2])
                 redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
                 redis.call('PUBLISH', ARGV[3], ARGV[4])
                 return 1",
            ),
        }
    }

    fn key(room: &str) -> String {
        format!("{KEY_PREFIX}chat:{{{room}}}")
    }
}

#[async_trait]
impl ChatStore for RedisChatStore {
    async fn append(&self, room: &str, message: Value) -> Result<(), redis::RedisError> {
        let stored = message.to_string();
        let broadcast = BusMessage {
            room: room.to_string(),
            event: MESSAGE_EVENT.to_string(),
            data: message,
        };
        let broadcast = serde_json::to_string(&broadcast).expect("a JSON value serializes");
        self.append
            .key(Self::key(room))
            .arg(self.max)
            .arg(stored)
            .arg(bus::channel())
            .arg(broadcast)
            .invoke_async::<()>(&mut self.conn.clone())
            .await
    }

    async fn history(&self, room: &str, limit: usize) -> Result<Vec<Value>, redis::RedisError> {
        let raw: Vec<String> = redis::cmd("LRANGE")
            .arg(Self::key(room))
            .arg(-(limit as i64))
            .arg(-1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw
            .iter()
            .filter_map(|m| serde_json::from_str(m).ok())
            .collect())
    }
}
