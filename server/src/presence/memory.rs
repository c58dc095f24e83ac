//! The in-memory presence store: zero setup, one node.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rtm_protocol::digest;
use rtm_protocol::wire::{PresenceEvent, PresenceEventType};
use serde_json::{Map, Value};

use super::event::announcement;
use super::store::{
    HeartbeatOutcome, HeartbeatRequest, JoinOutcome, JoinRequest, Page, PresenceEntry,
    PresenceStore, StoreError,
};
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
    rooms: HashMap<String, Room>,
    /// (expires at ms, room, conn), soonest first.
    deadlines: BTreeSet<(u64, String, String)>,
}

/// One room's entries in `connId` order (the order of snapshot pages), and its digest (kept as
/// they change).
#[derive(Default)]
struct Room {
    conns: BTreeMap<String, Conn>,
    digest: u32,
}

impl Room {
    fn insert(&mut self, conn: &str, c: Conn) {
        self.digest = self.digest.wrapping_add(digest::entry(conn, c.rev));
        self.conns.insert(conn.to_string(), c);
    }

    fn remove(&mut self, conn: &str) -> Option<Conn> {
        let c = self.conns.remove(conn)?;
        self.digest = self.digest.wrapping_sub(digest::entry(conn, c.rev));
        Some(c)
    }

    fn snapshot(&self) -> Vec<PresenceEntry> {
        self.conns.iter().map(|(id, c)| c.entry(id)).collect()
    }

    /// Up to `limit` entries after `after`.
    fn page(&self, after: Option<&str>, limit: usize) -> Page {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut rest = self
            .conns
            .range::<str, _>((start, Bound::Unbounded))
            .peekable();
        let entries: Vec<PresenceEntry> = rest
            .by_ref()
            .take(limit)
            .map(|(id, c)| c.entry(id))
            .collect();
        let more = rest.peek().is_some();
        Page {
            cursor: entries
                .last()
                .filter(|_| more)
                .map(|last| last.conn_id.clone()),
            entries,
            total: self.conns.len() as u64,
        }
    }
}

struct Conn {
    user: String,
    /// The secret that resumes this entry.
    token: String,
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
            rev: Some(self.rev),
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
        let event = PresenceEvent {
            kind,
            room_id: room.to_string(),
            user_id: c.user.clone(),
            conn_id: conn.to_string(),
            state: state.then(|| c.state.clone()),
            ts,
            epoch: c.epoch,
            rev: Some(c.rev),
        };
        self.bus.publish_local(announcement(&event));
    }
}

impl Rooms {
    fn get_mut(&mut self, room: &str, conn: &str) -> Option<&mut Conn> {
        self.rooms.get_mut(room)?.conns.get_mut(conn)
    }

    fn remove(&mut self, room: &str, conn: &str) -> Option<Conn> {
        let r = self.rooms.get_mut(room)?;
        let removed = r.remove(conn)?;
        if r.conns.is_empty() {
            self.rooms.remove(room);
        }
        self.deadlines
            .remove(&(removed.expires, room.to_string(), conn.to_string()));
        Some(removed)
    }

    /// Moves `conn`'s deadline to `expires`.
    fn reschedule(&mut self, room: &str, conn: &str, expires: u64) {
        let Some(c) = self.get_mut(room, conn) else {
            return;
        };
        let old = std::mem::replace(&mut c.expires, expires);
        self.deadlines
            .remove(&(old, room.to_string(), conn.to_string()));
        self.deadlines
            .insert((expires, room.to_string(), conn.to_string()));
    }

    /// The entry `resume` names, if its token and user match.
    fn resumable(&self, room: &str, user: &str, resume: Option<(&str, &str)>) -> Option<String> {
        let (conn, token) = resume?;
        let c = self.rooms.get(room)?.conns.get(conn)?;
        (c.user == user && c.token == token).then(|| conn.to_string())
    }
}

#[async_trait]
impl PresenceStore for MemoryPresenceStore {
    async fn join(&self, room: &str, request: JoinRequest<'_>) -> Result<JoinOutcome, StoreError> {
        let mut inner = self.inner.lock().expect("presence lock");
        let now = now_ms();
        // Never below the time in ms × 1024: epochs never go backwards, not even across a
        // restart of the process.
        inner.last_epoch = (inner.last_epoch + 1).max(now.saturating_mul(1024));
        let resumed = inner.resumable(room, request.user, request.resume);
        let conn = resumed.as_deref().unwrap_or(request.conn).to_string();
        let old = inner.remove(room, &conn);
        let mut c = Conn {
            user: request.user.to_string(),
            token: request.token.to_string(),
            state: request.state,
            seen: now,
            expires: now + self.ttl_ms,
            epoch: inner.last_epoch,
            rev: 0,
        };
        match old.filter(|_| resumed.is_some()) {
            None => self.announce(PresenceEventType::Join, room, &conn, &c, true, now),
            Some(old) if old.state == c.state => c.rev = old.rev,
            Some(old) => {
                c.rev = old.rev + 1;
                self.announce(PresenceEventType::Update, room, &conn, &c, true, now);
            }
        }
        inner
            .deadlines
            .insert((c.expires, room.to_string(), conn.clone()));
        let epoch = c.epoch;
        let r = inner.rooms.entry(room.to_string()).or_default();
        r.insert(&conn, c);
        Ok(JoinOutcome {
            conn,
            epoch,
            resumed: resumed.is_some(),
            page: r.page(None, request.page),
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
        let mut inner = self.inner.lock().expect("presence lock");
        let Some(r) = inner.rooms.get_mut(room) else {
            return Ok(HeartbeatOutcome::NotJoined);
        };
        let stale = digest.is_some_and(|d| d != r.digest);
        let Some(mut c) = r.remove(conn) else {
            return Ok(HeartbeatOutcome::NotJoined);
        };
        if c.epoch != epoch {
            r.insert(conn, c);
            return Ok(HeartbeatOutcome::StaleEpoch);
        }
        let now = now_ms();
        c.seen = now;
        let mut changed = false;
        for (key, value) in patch.into_iter().flatten() {
            if c.state.get(&key) != Some(&value) {
                c.state.insert(key, value);
                changed = true;
            }
        }
        if changed {
            c.rev += 1;
            self.announce(PresenceEventType::Update, room, conn, &c, true, now);
        }
        r.insert(conn, c);
        let snapshot = stale.then(|| r.page(None, page));
        inner.reschedule(room, conn, now + self.ttl_ms);
        Ok(HeartbeatOutcome::Refreshed {
            changed,
            epoch,
            snapshot,
        })
    }

    async fn leave(&self, room: &str, conn: &str, epoch: Option<u64>) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().expect("presence lock");
        let current = inner.get_mut(room, conn).map(|c| c.epoch);
        if current.is_none() || epoch.is_some_and(|e| Some(e) != current) {
            return Ok(false);
        }
        let Some(c) = inner.remove(room, conn) else {
            return Ok(false);
        };
        self.announce(PresenceEventType::Leave, room, conn, &c, false, now_ms());
        Ok(true)
    }

    async fn linger(
        &self,
        room: &str,
        conn: &str,
        epoch: u64,
        grace: Duration,
    ) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().expect("presence lock");
        let Some(c) = inner.get_mut(room, conn).filter(|c| c.epoch == epoch) else {
            return Ok(false);
        };
        // The grace never keeps an entry past its TTL deadline.
        let deadline = c.expires.min(now_ms() + grace.as_millis() as u64);
        inner.reschedule(room, conn, deadline);
        Ok(true)
    }

    async fn snapshot(&self, room: &str) -> Result<Vec<PresenceEntry>, StoreError> {
        let inner = self.inner.lock().expect("presence lock");
        Ok(inner
            .rooms
            .get(room)
            .map(Room::snapshot)
            .unwrap_or_default())
    }

    async fn page(
        &self,
        room: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let inner = self.inner.lock().expect("presence lock");
        Ok(inner
            .rooms
            .get(room)
            .map(|r| r.page(after, limit))
            .unwrap_or_default())
    }

    async fn count(&self, room: &str) -> Result<u64, StoreError> {
        let inner = self.inner.lock().expect("presence lock");
        Ok(inner.rooms.get(room).map_or(0, |r| r.conns.len() as u64))
    }

    async fn due(&self, max: usize) -> Result<Vec<(String, String)>, StoreError> {
        let inner = self.inner.lock().expect("presence lock");
        let now = now_ms();
        Ok(inner
            .deadlines
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .take(max)
            .map(|(_, room, conn)| (room.clone(), conn.clone()))
            .collect())
    }

    async fn expire(&self, room: &str, conn: &str) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock().expect("presence lock");
        let now = now_ms();
        if inner.get_mut(room, conn).is_none_or(|c| c.expires > now) {
            return Ok(false);
        }
        let Some(c) = inner.remove(room, conn) else {
            return Ok(false);
        };
        self.announce(PresenceEventType::Leave, room, conn, &c, false, now);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    async fn store(ttl: Duration) -> MemoryPresenceStore {
        let (_layer, io) = socketioxide::SocketIo::new_layer();
        let (bus, _tasks, _control) = Bus::start(io, None, Vec::new(), &Metrics::new())
            .await
            .expect("an in-memory bus starts");
        MemoryPresenceStore::new(bus, ttl)
    }

    fn join<'a>(conn: &'a str, page: usize) -> JoinRequest<'a> {
        JoinRequest {
            conn,
            user: "u",
            state: Map::new(),
            token: "t",
            resume: None,
            page,
        }
    }

    #[tokio::test]
    async fn pages_follow_conn_order_and_end_with_no_cursor() {
        let store = store(Duration::from_secs(30)).await;
        for conn in ["d", "b", "e", "a", "c"] {
            store.join("r", join(conn, 2)).await.unwrap();
        }
        let first = store.join("r", join("f", 2)).await.unwrap().page;
        let ids = |page: &Page| -> Vec<String> {
            page.entries.iter().map(|e| e.conn_id.clone()).collect()
        };
        assert_eq!(
            (ids(&first), first.total),
            (vec!["a".into(), "b".into()], 6)
        );
        assert_eq!(first.cursor.as_deref(), Some("b"));
        let second = store.page("r", Some("b"), 3).await.unwrap();
        assert_eq!(ids(&second), ["c", "d", "e"]);
        let last = store.page("r", Some("e"), 3).await.unwrap();
        assert_eq!((ids(&last), last.cursor), (vec!["f".to_string()], None));
        let count_member = store.join("r", join("g", 0)).await.unwrap().page;
        assert_eq!((count_member.entries.len(), count_member.total), (0, 7));
        assert_eq!(
            count_member.cursor, None,
            "an empty page of a count member is complete"
        );
        assert_eq!(store.count("r").await.unwrap(), 7);
        assert_eq!(store.count("nowhere").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_grace_never_keeps_an_entry_past_its_ttl() {
        let store = store(Duration::from_millis(200)).await;
        let epoch = store.join("r", join("c", 10)).await.unwrap().epoch;
        assert!(
            store
                .linger("r", "c", epoch, Duration::from_secs(60))
                .await
                .unwrap()
        );
        let expires = store.inner.lock().unwrap().deadlines.first().map(|d| d.0);
        let joined_deadline = now_ms() + 200;
        assert!(
            expires.is_some_and(|at| at <= joined_deadline),
            "deadline {expires:?} past the TTL's {joined_deadline}"
        );
    }
}
