//! The Redis presence store: each operation is one Lua script, so one round trip that fences,
//! writes, refreshes the TTL and publishes the event, atomically across every node.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};

use super::store::{HeartbeatOutcome, JoinOutcome, PresenceEntry, PresenceStore, StoreError};
use crate::bus::KEY_PREFIX;

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Presence in Redis, shared by every node on that Redis.
pub struct RedisPresenceStore {
    conn: ConnectionManager,
    ttl_ms: u64,
    join: Script,
    heartbeat: Script,
    leave: Script,
    snapshot: Script,
    reap: Script,
}

impl RedisPresenceStore {
    /// A store on `conn` whose connections expire `ttl` after their last heartbeat.
    pub fn new(conn: ConnectionManager, ttl: Duration) -> Self {
        Self {
            conn,
            ttl_ms: ttl.as_millis() as u64,
            join: script(include_str!("lua/join.lua")),
            heartbeat: script(include_str!("lua/heartbeat.lua")),
            leave: script(include_str!("lua/leave.lua")),
            snapshot: script(include_str!("lua/snapshot.lua")),
            reap: script(include_str!("lua/reap.lua")),
        }
    }
}

/// A state object as the flat (field JSON, value JSON) argument list the scripts take.
fn state_args(state: &Map<String, Value>) -> Vec<String> {
    state
        .iter()
        .flat_map(|(k, v)| [Value::from(k.as_str()).to_string(), v.to_string()])
        .collect()
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl PresenceStore for RedisPresenceStore {
    async fn join(
        &self,
        room: &str,
        conn: &str,
        user: &str,
        state: Map<String, Value>,
    ) -> Result<JoinOutcome, StoreError> {
        let json: String = self
            .join
            .arg(KEY_PREFIX)
            .arg(room)
            .arg(conn)
            .arg(user)
            .arg(self.ttl_ms)
            .arg(state_args(&state))
            .invoke_async(&mut self.conn.clone())
            .await?;
        parse(&json)
    }

    async fn heartbeat(
        &self,
        room: &str,
        conn: &str,
        epoch: u64,
        patch: Option<Map<String, Value>>,
    ) -> Result<HeartbeatOutcome, StoreError> {
        let (status, changed, epoch): (u8, u8, u64) = self
            .heartbeat
            .arg(KEY_PREFIX)
            .arg(room)
            .arg(conn)
            .arg(epoch)
            .arg(self.ttl_ms)
            .arg(patch.as_ref().map(state_args).unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await?;
        match status {
            0 => Ok(HeartbeatOutcome::NotJoined),
            1 => Ok(HeartbeatOutcome::Refreshed {
                changed: changed == 1,
                epoch,
            }),
            2 => Ok(HeartbeatOutcome::StaleEpoch),
            other => Err(StoreError::Corrupt(format!("heartbeat status {other}"))),
        }
    }

    async fn leave(&self, room: &str, conn: &str) -> Result<bool, StoreError> {
        let removed: u8 = self
            .leave
            .arg(KEY_PREFIX)
            .arg(room)
            .arg(conn)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(removed == 1)
    }

    async fn snapshot(&self, room: &str) -> Result<Vec<PresenceEntry>, StoreError> {
        let json: String = self
            .snapshot
            .arg(KEY_PREFIX)
            .arg(room)
            .invoke_async(&mut self.conn.clone())
            .await?;
        parse(&json)
    }

    async fn reap(&self, max: usize) -> Result<usize, StoreError> {
        Ok(self
            .reap
            .arg(KEY_PREFIX)
            .arg(max)
            .invoke_async(&mut self.conn.clone())
            .await?)
    }
}
