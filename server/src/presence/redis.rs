//! The Redis presence store: each operation is one Lua script, so one round trip that fences,
//! writes, refreshes the TTL and publishes the event, atomically across every node. Every key a
//! script touches is declared, and all of them are in the room's bucket (one cluster slot): see
//! [`crate::redis::keys`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures_util::future::join_all;
use redis::{Script, ScriptInvocation};
use serde_json::{Map, Value};

use super::heartbeat_batch::{Beat, HeartbeatBatcher};
use super::redis_meta::{self, RawPage};
use super::store::{
    HeartbeatOutcome, HeartbeatRequest, JoinOutcome, JoinRequest, Page, PresenceEntry,
    PresenceStore, StoreError,
};
use crate::metrics::Metrics;
use crate::redis::keys;
use crate::redis::{RedisConnection, StoreConn};

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}\n{body}"))
}

/// Presence in Redis (one Redis or a cluster), shared by every node on it.
pub struct RedisPresenceStore {
    conn: StoreConn,
    publish: &'static str,
    ttl_ms: u64,
    join: Script,
    heartbeats: HeartbeatBatcher,
    leave: Script,
    linger: Script,
    snapshot: Script,
    page: Script,
    expire: Script,
}

impl RedisPresenceStore {
    /// A store on `redis` whose connections expire `ttl` after their last heartbeat; heartbeats
    /// wait up to `tick` for others to share their Redis call (counted in `metrics`). Starts the
    /// batcher's task.
    pub(crate) fn new(
        redis: &RedisConnection,
        ttl: Duration,
        tick: Duration,
        metrics: Metrics,
    ) -> Self {
        let ttl_ms = ttl.as_millis() as u64;
        Self {
            conn: redis.conn.clone(),
            publish: redis.publish_command(),
            ttl_ms,
            join: script(include_str!("lua/join.lua")),
            heartbeats: HeartbeatBatcher::spawn(
                redis,
                script(include_str!("lua/heartbeat.lua")),
                ttl_ms,
                tick,
                metrics,
            ),
            leave: script(include_str!("lua/leave.lua")),
            linger: script(include_str!("lua/linger.lua")),
            snapshot: script(include_str!("lua/snapshot.lua")),
            page: script(include_str!("lua/page.lua")),
            expire: script(include_str!("lua/expire.lua")),
        }
    }

    /// `script` on `room`: its keys, then the room, the publish command, its channel and the TTL.
    fn on_room<'a>(&self, script: &'a Script, room: &str) -> ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        for key in keys::presence(room) {
            invocation.key(key);
        }
        invocation
            .arg(room)
            .arg(self.publish)
            .arg(keys::room_channel(room))
            .arg(self.ttl_ms);
        invocation
    }

    /// Up to `max` expired `(room, conn)` of `bucket`, by its expiry index.
    async fn due_in(&self, bucket: u32, now: u64, max: usize) -> Result<Vec<String>, StoreError> {
        Ok(redis::cmd("ZRANGEBYSCORE")
            .arg(keys::presence_due(bucket))
            .arg("-inf")
            .arg(now)
            .arg("LIMIT")
            .arg(0)
            .arg(max)
            .query_async(&mut self.conn.clone())
            .await?)
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

impl RedisPresenceStore {
    /// The page the scripts answered, its entries completed with their `lastSeenMs` (expiry
    /// less the TTL).
    /// An entry that went between the script's reads (its meta `""`) is left out.
    fn page_of(&self, page: RawPage) -> Result<Page, StoreError> {
        let (total, cursor, conns, metas, expiries) = page;
        let entries = conns
            .iter()
            .zip(&metas)
            .zip(&expiries)
            .filter(|((_, text), _)| !text.is_empty())
            .map(|((conn, text), expiry)| {
                let expiry = expiry.parse::<f64>().unwrap_or(0.0) as u64;
                redis_meta::entry(conn, text, expiry.saturating_sub(self.ttl_ms))
            })
            .collect::<Result<_, _>>()?;
        Ok(Page {
            entries,
            total,
            cursor: (!cursor.is_empty()).then_some(cursor),
        })
    }
}

#[async_trait]
impl PresenceStore for RedisPresenceStore {
    async fn join(&self, room: &str, request: JoinRequest<'_>) -> Result<JoinOutcome, StoreError> {
        let (resume_conn, resume_token) = request.resume.unwrap_or_default();
        let (conn, epoch, resumed, page): (String, u64, u8, RawPage) = self
            .on_room(&self.join, room)
            .arg(request.conn)
            .arg(request.user)
            .arg(request.token)
            .arg(resume_conn)
            .arg(resume_token)
            .arg(request.page)
            .arg(state_args(&request.state))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(JoinOutcome {
            conn,
            epoch,
            resumed: resumed == 1,
            page: self.page_of(page)?,
        })
    }

    async fn heartbeat(
        &self,
        room: &str,
        request: HeartbeatRequest<'_>,
    ) -> Result<HeartbeatOutcome, StoreError> {
        let HeartbeatRequest {
            conn,
            epoch,
            patch,
            digest,
            page,
        } = request;
        let (status, changed, epoch, snapshot) = self
            .heartbeats
            .beat(Beat {
                room: room.to_string(),
                conn: conn.to_string(),
                epoch,
                digest,
                page,
                patch: patch.as_ref().map(state_args).unwrap_or_default(),
            })
            .await?;
        match status {
            0 => Ok(HeartbeatOutcome::NotJoined),
            1 => Ok(HeartbeatOutcome::Refreshed {
                changed: changed == 1,
                epoch,
                snapshot: snapshot.map(|page| self.page_of(page)).transpose()?,
            }),
            2 => Ok(HeartbeatOutcome::StaleEpoch),
            other => Err(StoreError::Corrupt(format!("heartbeat status {other}"))),
        }
    }

    async fn leave(&self, room: &str, conn: &str, epoch: Option<u64>) -> Result<bool, StoreError> {
        let removed: u8 = self
            .on_room(&self.leave, room)
            .arg(conn)
            .arg(epoch.map(|e| e.to_string()).unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(removed == 1)
    }

    async fn linger(
        &self,
        room: &str,
        conn: &str,
        epoch: u64,
        grace: Duration,
    ) -> Result<bool, StoreError> {
        let kept: u8 = self
            .on_room(&self.linger, room)
            .arg(conn)
            .arg(epoch)
            .arg(grace.as_millis() as u64)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(kept == 1)
    }

    async fn snapshot(&self, room: &str) -> Result<Vec<PresenceEntry>, StoreError> {
        let json: String = self
            .on_room(&self.snapshot, room)
            .invoke_async(&mut self.conn.clone())
            .await?;
        parse(&json)
    }

    async fn page(
        &self,
        room: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let page: RawPage = self
            .on_room(&self.page, room)
            .arg(after.unwrap_or_default())
            .arg(limit)
            .invoke_async(&mut self.conn.clone())
            .await?;
        self.page_of(page)
    }

    /// The room's meta hash has one field per connection, and one for the digest.
    async fn count(&self, room: &str) -> Result<u64, StoreError> {
        let [meta, ..] = keys::presence(room);
        let fields: u64 = redis::cmd("HLEN")
            .arg(meta)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(fields.saturating_sub(1))
    }

    /// Looks at every bucket's expiry index, at once on the multiplexed connection.
    async fn due(&self, max: usize) -> Result<Vec<(String, String)>, StoreError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let lists = join_all((0..keys::BUCKETS).map(|b| self.due_in(b, now, max))).await;
        let mut due = Vec::new();
        for list in lists {
            due.extend(list?.into_iter().filter_map(|member| {
                let (room, conn) = member.rsplit_once('\n')?;
                Some((room.to_string(), conn.to_string()))
            }));
        }
        due.truncate(max);
        Ok(due)
    }

    async fn expire(&self, room: &str, conn: &str) -> Result<bool, StoreError> {
        let removed: u8 = self
            .on_room(&self.expire, room)
            .arg(conn)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(removed == 1)
    }
}
