//! Where chat history lives: a bounded list per room, in memory or in Redis, forgotten once the
//! room has had no message for the retention period. Appending also broadcasts the message, in
//! one step.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use rtm_protocol::events;
use serde_json::Value;

use crate::bus::{Bus, BusMessage};
use crate::redis::keys;
use crate::redis::{RedisConnection, StoreConn};

/// Chat history storage.
#[async_trait]
pub(crate) trait ChatStore: Send + Sync + 'static {
    /// Appends `message` to the room's history (dropping the oldest beyond the limit) and
    /// broadcasts it to the room.
    async fn append(&self, room: &str, message: Value) -> Result<(), redis::RedisError>;

    /// The last `limit` messages of the room (at most the history's length), oldest first.
    async fn history(&self, room: &str, limit: usize) -> Result<Vec<Value>, redis::RedisError>;
}

/// History in this process.
pub(crate) struct MemoryChatStore {
    bus: Bus,
    max: usize,
    retention: Duration,
    rooms: Mutex<Rooms>,
}

#[derive(Default)]
struct Rooms {
    /// Each room's last message time and messages.
    history: HashMap<String, (Instant, VecDeque<Value>)>,
    last_sweep: Option<Instant>,
}

impl MemoryChatStore {
    pub(crate) fn new(bus: Bus, max: usize, retention: Duration) -> Self {
        Self {
            bus,
            max,
            retention,
            rooms: Mutex::new(Rooms::default()),
        }
    }
}

impl Rooms {
    /// Forgets rooms past their retention, at most once a minute (or once per retention).
    fn sweep(&mut self, now: Instant, retention: Duration) {
        let every = retention.min(Duration::from_secs(60));
        if self
            .last_sweep
            .is_some_and(|t| now.duration_since(t) < every)
        {
            return;
        }
        self.last_sweep = Some(now);
        self.history
            .retain(|_, (last, _)| now.duration_since(*last) < retention);
    }
}

#[async_trait]
impl ChatStore for MemoryChatStore {
    async fn append(&self, room: &str, message: Value) -> Result<(), redis::RedisError> {
        let now = Instant::now();
        let mut rooms = self.rooms.lock().expect("chat lock");
        rooms.sweep(now, self.retention);
        let (last, history) = rooms
            .history
            .entry(room.to_string())
            .or_insert_with(|| (now, VecDeque::new()));
        *last = now;
        history.push_back(message.clone());
        while history.len() > self.max {
            history.pop_front();
        }
        self.bus.publish_local(BusMessage {
            room: room.to_string(),
            event: events::CHAT_MESSAGE.to_string(),
            data: message,
        });
        Ok(())
    }

    async fn history(&self, room: &str, limit: usize) -> Result<Vec<Value>, redis::RedisError> {
        let rooms = self.rooms.lock().expect("chat lock");
        let Some((last, history)) = rooms.history.get(room) else {
            return Ok(Vec::new());
        };
        if last.elapsed() >= self.retention {
            return Ok(Vec::new());
        }
        let skip = history.len().saturating_sub(limit);
        Ok(history.iter().skip(skip).cloned().collect())
    }
}

/// History in Redis: a capped list per room that expires after the retention period without a
/// message; append, trim, expiry and publish are one script.
pub(crate) struct RedisChatStore {
    conn: StoreConn,
    publish: &'static str,
    max: usize,
    retention: Duration,
    append: Script,
}

impl RedisChatStore {
    pub(crate) fn new(redis: &RedisConnection, max: usize, retention: Duration) -> Self {
        Self {
            conn: redis.conn.clone(),
            publish: redis.publish_command(),
            max,
            retention,
            append: Script::new(
                "redis.call('RPUSH', KEYS[1], ARGV[2])
                 redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
                 redis.call('PEXPIRE', KEYS[1], ARGV[5])
                 redis.call(ARGV[6], ARGV[3], ARGV[4])
                 return 1",
            ),
        }
    }
}

#[async_trait]
impl ChatStore for RedisChatStore {
    async fn append(&self, room: &str, message: Value) -> Result<(), redis::RedisError> {
        let stored = message.to_string();
        let broadcast = BusMessage {
            room: room.to_string(),
            event: events::CHAT_MESSAGE.to_string(),
            data: message,
        };
        let broadcast = serde_json::to_string(&broadcast).expect("a JSON value serializes");
        self.append
            .key(keys::chat(room))
            .arg(self.max)
            .arg(stored)
            .arg(keys::room_channel(room))
            .arg(broadcast)
            .arg(self.retention.as_millis().clamp(1, i64::MAX as u128) as i64)
            .arg(self.publish)
            .invoke_async::<()>(&mut self.conn.clone())
            .await
    }

    async fn history(&self, room: &str, limit: usize) -> Result<Vec<Value>, redis::RedisError> {
        // At most the whole list: the count stays small whatever a client asked for.
        let count = limit.clamp(1, self.max) as i64;
        let raw: Vec<String> = redis::cmd("LRANGE")
            .arg(keys::chat(room))
            .arg(-count)
            .arg(-1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(raw
            .iter()
            .filter_map(|m| serde_json::from_str(m).ok())
            .collect())
    }
}
