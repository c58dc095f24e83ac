//! The in-memory presence store: zero setup, one node.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rtm_sdk_core::PresenceEventType;
use serde_json::{Map, Value};

use super::event::presence_event;
use super::store::{HeartbeatOutcome, JoinOutcome, PresenceEntry, PresenceStore, StoreError};
use crate::bus::Bus;

/// Presence kept in this process; events go to this node's sockets.
pub struct MemoryPresenceStore {
    bus: Bus,
    ttl_ms: u64,
    inner: Mutex<Rooms>,
}

#[derive(Default)]
struct Rooms {
    last_epoch: u64,
    rooms: HashMap<String, HashMap<String, Conn>>,
    /// (expires at ms, room, conn), soonest first.
    deadlines: BTreeSet<(u64, String, String)>,
}

struct Conn {
    user: String,
    state: Map<String, Value>,
    /// Last join or heartbeat, ms.
    seen: u64,
    /// When it expires, ms: its key in `deadlines`.
    expires: u64,
    epoch: u64,
    rev: u64,
}

impl Conn {
    fn entry(&self, conn_id: &str) -> PresenceEntry {
        PresenceEntry {
            conn_id: conn_id.to_string(),
            user_id: self.user.clone(),
            state: self.state.clone(),
            last_seen_ms: self.seen,
            epoch: self.epoch,
            rev: self.rev,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

impl MemoryPresenceStore {
    /// A store whose connections expire `ttl` after their last heartbeat.
    pub fn new(bus: Bus, ttl: Duration) -> Self {
        Self {
            bus,
            ttl_ms: ttl.as_millis() as u64,
            inner: Mutex::new(Rooms::default()),
        }
    }

    fn announce(
        &self,
        kind: PresenceEventType,
        room: &str,
        conn: &str,
        c: &Conn,
        state: bool,
        ts: u64,
    ) {
        let state = state.then_some(&c.state);
        let message = presence_event(kind, room, conn, &c.user, state, ts, c.epoch, c.rev);
        self.bus.publish_local(message);
    }
}

impl Rooms {
    fn remove(&mut self, room: &str, conn: &str) -> Option<Conn> {
        let conns = self.rooms.get_mut(room)?;
        let removed = conns.remove(conn)?;
        if conns.is_empty() {
            self.rooms.remove(room);
        }
        self.deadlines
            .remove(&(removed.expires, room.to_string(), conn.to_string()));
        Some(removed)
    }
}

#[async_trait]
impl PresenceStore for MemoryPresenceStore {
    async fn join(
        &self,
        room: &str,
        conn: &str,
        user: &str,
        state: Map<String, Value>,
    ) -> Result<JoinOutcome, StoreError> {
        let mut inner = self.inner.lock().expect("presence lock");
        let now = now_ms();
        // Never below the time in ms × 1024: epochs never go backwards, not even across a
        // restart of the process.
        inner.last_epoch = (inner.last_epoch + 1).max(now.saturating_mul(1024));
        let c = Conn {
            user: user.to_string(),
            state,
            seen: now,
            expires: now + self.ttl_ms,
            epoch: inner.last_epoch,
            rev: 0,
        };
        inner.remove(room, conn);
        inner
            .deadlines
            .insert((c.expires, room.to_string(), conn.to_string()));
        self.announce(PresenceEventType::Join, room, conn, &c, true, now);
        let epoch = c.epoch;
        let conns = inner.rooms.entry(room.to_string()).or_default();
        conns.insert(conn.to_string(), c);
        let snapshot = conns.iter().map(|(id, c)| c.entry(id)).collect();
        Ok(JoinOutcome { epoch, snapshot })
    }

    async fn heartbeat(
        &self,
        room: &str,
        conn: &str,
        epoch: u64,
        patch: Option<Map<String, Value>>,
    ) -> Result<HeartbeatOutcome, StoreError> {
        let mut guard = self.inner.lock().expect("presence lock");
        let inner = &mut *guard;
        let Some(c) = inner.rooms.get_mut(room).and_then(|r| r.get_mut(conn)) else {
            return Ok(HeartbeatOutcome::NotJoined);
        };
        if c.epoch != epoch {
            return Ok(HeartbeatOutcome::StaleEpoch);
        }
        let now = now_ms();
        inner
            .deadlines
            .remove(&(c.expires, room.to_string(), conn.to_string()));
        c.seen = now;
        c.expires = now + self.ttl_ms;
        inner
            .deadlines
            .insert((c.expires, room.to_string(), conn.to_string()));
        let mut changed = false;
        for (key, value) in patch.into_iter().flatten() {
            if c.state.get(&key) != Some(&value) {
                c.state.insert(key, value);
                changed = true;
            }
        }
        if changed {
            c.rev += 1;
            self.announce(PresenceEventType::Update, room, conn, c, true, now);
        }
        Ok(HeartbeatOutcome::Refreshed { changed, epoch })
    }

    async fn leave(&self, room: &str, conn: &str) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().expect("presence lock");
        let Some(c) = inner.remove(room, conn) else {
            return Ok(false);
        };
        self.announce(PresenceEventType::Leave, room, conn, &c, false, now_ms());
        Ok(true)
    }

    async fn snapshot(&self, room: &str) -> Result<Vec<PresenceEntry>, StoreError> {
        let inner = self.inner.lock().expect("presence lock");
        Ok(inner
            .rooms
            .get(room)
            .map(|conns| conns.iter().map(|(id, c)| c.entry(id)).collect())
            .unwrap_or_default())
    }

    async fn reap(&self, max: usize) -> Result<usize, StoreError> {
        let mut inner = self.inner.lock().expect("presence lock");
        let now = now_ms();
        let due: Vec<_> = inner
            .deadlines
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .take(max)
            .cloned()
            .collect();
        for (_, room, conn) in &due {
            if let Some(c) = inner.remove(room, conn) {
                self.announce(PresenceEventType::Leave, room, conn, &c, false, now);
            }
        }
        Ok(due.len())
    }
}
