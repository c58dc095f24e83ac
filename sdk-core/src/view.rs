//! A channel's view of its room: the connections, and the members merged by user. Events are
//! applied idempotently, ordered per connection by `(epoch, rev)`: a duplicate or out-of-date
//! event changes nothing. Events without `rev` (from the TypeScript server, which sends none)
//! are ordered by `epoch` alone and, within an epoch, applied in arrival order.

use serde_json::Value;

use crate::json;
use crate::protocol::digest;
use crate::wire::{PresenceEntry, PresenceEvent, PresenceEventType, State, snapshot_json};

/// One user in the room, with all of their connections (tabs).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "camelCase")
)]
pub struct Member {
    /// The user.
    pub user_id: String,
    /// Their connections, oldest join first.
    pub connections: Vec<PresenceEntry>,
    /// The state of their most recently changed connection.
    pub state: State,
    /// The latest `lastSeenMs` of their connections.
    pub last_seen_ms: u64,
}

impl Member {
    /// As a JSON object: `{ userId, connections, state, lastSeenMs }`.
    pub fn to_json(&self) -> Value {
        json::object([
            ("userId", self.user_id.clone().into()),
            ("connections", snapshot_json(&self.connections)),
            ("state", Value::Object(self.state.clone())),
            ("lastSeenMs", self.last_seen_ms.into()),
        ])
    }
}

/// The room as this client knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresenceView {
    /// Sorted by connection id.
    connections: Vec<PresenceEntry>,
    /// Connections known to have left, with the epoch they left in; sorted by connection id.
    gone: Vec<(String, u64)>,
}

impl PresenceView {
    /// Replaces the view with a snapshot (or the first page of one).
    pub fn reset(&mut self, snapshot: &[PresenceEntry]) {
        self.connections.clear();
        for entry in snapshot {
            self.upsert(entry.clone());
        }
        self.gone.clear();
    }

    /// Merges a later page of a snapshot (`presence:members`) the way events apply: an entry is
    /// taken unless the view has its connection at a newer or equal `(epoch, rev)`, or saw that
    /// join leave (what the view learnt since the first page stays); as an update event with the
    /// entry's fields would be. Returns the entries taken.
    pub fn merge(&mut self, mut page: Vec<PresenceEntry>) -> Vec<PresenceEntry> {
        // Each entry as the update that would set it (one set of rules: `apply`'s).
        page.retain(|entry| {
            self.apply(&PresenceEvent {
                kind: PresenceEventType::Update,
                room_id: String::new(),
                user_id: entry.user_id.clone(),
                conn_id: entry.conn_id.clone(),
                state: Some(entry.state.clone()),
                ts: entry.last_seen_ms,
                epoch: entry.epoch,
                rev: entry.rev,
            })
        });
        page
    }

    fn find(&self, conn_id: &str) -> Result<usize, usize> {
        self.connections
            .binary_search_by(|e| e.conn_id.as_str().cmp(conn_id))
    }

    fn upsert(&mut self, entry: PresenceEntry) {
        match self.find(&entry.conn_id) {
            Ok(i) => self.connections[i] = entry,
            Err(i) => self.connections.insert(i, entry),
        }
    }

    fn gone_epoch(&self, conn_id: &str) -> Option<u64> {
        self.gone
            .binary_search_by(|(c, _)| c.as_str().cmp(conn_id))
            .ok()
            .map(|i| self.gone[i].1)
    }

    fn mark_gone(&mut self, conn_id: &str, epoch: u64) {
        match self.gone.binary_search_by(|(c, _)| c.as_str().cmp(conn_id)) {
            Ok(i) => self.gone[i].1 = epoch,
            Err(i) => self.gone.insert(i, (conn_id.to_string(), epoch)),
        }
    }

    /// Empties the view.
    pub fn clear(&mut self) {
        self.connections.clear();
        self.gone.clear();
    }

    /// Applies an event; true when it changed the view.
    pub fn apply(&mut self, event: &PresenceEvent) -> bool {
        if self
            .gone_epoch(&event.conn_id)
            .is_some_and(|e| e >= event.epoch)
        {
            return false; // that join has left already
        }
        match event.kind {
            PresenceEventType::Join | PresenceEventType::Update => {
                if let Ok(i) = self.find(&event.conn_id) {
                    let known = &self.connections[i];
                    if !is_newer(known, event) {
                        return false;
                    }
                }
                self.upsert(PresenceEntry {
                    conn_id: event.conn_id.clone(),
                    user_id: event.user_id.clone(),
                    state: event.state.clone().unwrap_or_default(),
                    last_seen_ms: event.ts,
                    epoch: event.epoch,
                    rev: event.rev,
                });
                true
            }
            PresenceEventType::Leave => {
                let found = self.find(&event.conn_id);
                if let Ok(i) = found
                    && self.connections[i].epoch > event.epoch
                {
                    return false; // a newer join of the same connection stays
                }
                self.mark_gone(&event.conn_id, event.epoch);
                match found {
                    Ok(i) => {
                        self.connections.remove(i);
                        true
                    }
                    Err(_) => false,
                }
            }
        }
    }

    /// The view's digest (`docs/protocol.md`, "Views heal themselves"): equal to the room's
    /// when the view holds every connection at its current `rev`. An entry without `rev` (from
    /// the TypeScript server, which keeps no digest) counts as rev 0.
    pub fn digest(&self) -> u32 {
        digest::of(
            self.connections
                .iter()
                .map(|e| (e.conn_id.as_str(), e.rev.unwrap_or(0))),
        )
    }

    /// How many connections the view holds.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    /// Whether the view holds no connection.
    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// Every connection, sorted by connection id.
    pub fn connections(&self) -> Vec<PresenceEntry> {
        self.connections.clone()
    }

    /// Every user, their connections merged; sorted by user id.
    pub fn members(&self) -> Vec<Member> {
        // Users sorted by id, each with their connections in join (epoch) order.
        let mut by_user: Vec<(&str, Vec<&PresenceEntry>)> = Vec::new();
        for entry in &self.connections {
            match by_user.binary_search_by(|(u, _)| (*u).cmp(entry.user_id.as_str())) {
                Ok(i) => {
                    let conns = &mut by_user[i].1;
                    let at = conns.partition_point(|c| c.epoch <= entry.epoch);
                    conns.insert(at, entry);
                }
                Err(i) => by_user.insert(i, (&entry.user_id, vec![entry])),
            }
        }
        by_user
            .into_iter()
            .map(|(user, conns)| {
                let latest = conns
                    .iter()
                    .max_by_key(|c| (c.last_seen_ms, c.epoch, c.rev))
                    .expect("a member has a connection");
                Member {
                    user_id: user.to_string(),
                    state: latest.state.clone(),
                    last_seen_ms: conns.iter().map(|c| c.last_seen_ms).max().unwrap_or(0),
                    connections: conns.into_iter().cloned().collect(),
                }
            })
            .collect()
    }
}

/// Whether `event` comes after what the view knows of its connection: by `(epoch, rev)` when both
/// carry a `rev`; otherwise by epoch alone, so that within one epoch arrival order decides.
fn is_newer(known: &PresenceEntry, event: &PresenceEvent) -> bool {
    match (known.rev, event.rev) {
        (Some(known_rev), Some(rev)) => (known.epoch, known_rev) < (event.epoch, rev),
        _ => known.epoch <= event.epoch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(
        kind: PresenceEventType,
        conn: &str,
        user: &str,
        epoch: u64,
        rev: u64,
        state: serde_json::Value,
    ) -> PresenceEvent {
        PresenceEvent {
            kind,
            room_id: "r".into(),
            user_id: user.into(),
            conn_id: conn.into(),
            state: state.as_object().cloned(),
            ts: 1000 + epoch * 10 + rev,
            epoch,
            rev: Some(rev),
        }
    }
    use PresenceEventType::*;

    #[test]
    fn duplicates_and_stale_events_change_nothing() {
        let mut v = PresenceView::default();
        assert!(v.apply(&ev(Join, "c1", "u", 5, 0, json!({"s": 0}))));
        assert!(
            !v.apply(&ev(Join, "c1", "u", 5, 0, json!({"s": 0}))),
            "duplicate join"
        );
        assert!(v.apply(&ev(Update, "c1", "u", 5, 2, json!({"s": 2}))));
        assert!(
            !v.apply(&ev(Update, "c1", "u", 5, 1, json!({"s": 1}))),
            "older update"
        );
        assert_eq!(v.connections()[0].state["s"], 2);
        assert!(
            !v.apply(&ev(Update, "c1", "u", 4, 9, json!({"s": 9}))),
            "older epoch"
        );
        assert!(v.apply(&ev(Leave, "c1", "u", 5, 2, json!(null))));
        assert!(
            !v.apply(&ev(Leave, "c1", "u", 5, 2, json!(null))),
            "duplicate leave"
        );
        assert!(
            !v.apply(&ev(Update, "c1", "u", 5, 3, json!({"s": 3}))),
            "update after leave"
        );
        assert!(v.connections().is_empty());
        assert!(
            v.apply(&ev(Join, "c1", "u", 6, 0, json!({}))),
            "a new join after leave"
        );
    }

    #[test]
    fn a_late_leave_of_an_old_epoch_keeps_the_new_join() {
        let mut v = PresenceView::default();
        v.apply(&ev(Join, "c1", "u", 7, 0, json!({})));
        assert!(!v.apply(&ev(Leave, "c1", "u", 6, 0, json!(null))));
        assert_eq!(v.connections().len(), 1);
    }

    #[test]
    fn snapshot_then_replayed_events() {
        let mut v = PresenceView::default();
        let snap = PresenceEntry {
            conn_id: "c1".into(),
            user_id: "u".into(),
            state: json!({"s": 3}).as_object().unwrap().clone(),
            last_seen_ms: 1,
            epoch: 5,
            rev: Some(3),
        };
        v.reset(&[snap]);
        assert!(
            !v.apply(&ev(Update, "c1", "u", 5, 2, json!({"s": 2}))),
            "the snapshot is newer"
        );
        assert!(v.apply(&ev(Update, "c1", "u", 5, 4, json!({"s": 4}))));
        assert_eq!(v.connections()[0].state["s"], 4);
    }

    #[test]
    fn a_page_merges_like_events_and_keeps_what_the_view_learnt() {
        let entry = |conn: &str, epoch: u64, rev: u64, s: u64| PresenceEntry {
            conn_id: conn.into(),
            user_id: "u".into(),
            state: json!({"s": s}).as_object().unwrap().clone(),
            last_seen_ms: 1,
            epoch,
            rev: Some(rev),
        };
        let mut v = PresenceView::default();
        v.reset(&[entry("a", 1, 0, 0)]);
        // Between pages: c left, d joined, e changed.
        assert!(!v.apply(&ev(Leave, "c", "u", 3, 0, json!(null))));
        assert!(v.apply(&ev(Join, "d", "u", 4, 0, json!({"s": 0}))));
        assert!(v.apply(&ev(Join, "e", "u", 5, 2, json!({"s": 2}))));
        let page = [
            entry("b", 2, 0, 0),
            entry("c", 3, 0, 0),
            entry("d", 4, 0, 0),
            entry("e", 5, 1, 1),
            entry("f", 6, 0, 0),
        ];
        let taken: Vec<_> = v
            .merge(page.to_vec())
            .into_iter()
            .map(|e| e.conn_id)
            .collect();
        assert_eq!(
            taken,
            ["b", "f"],
            "c left, d and e are known at least as new"
        );
        let conns: Vec<_> = v.connections().into_iter().map(|e| e.conn_id).collect();
        assert_eq!(conns, ["a", "b", "d", "e", "f"]);
        assert_eq!(v.connections()[3].state["s"], 2);
        assert_eq!((v.len(), v.is_empty()), (5, false));
        // A newer join of a connection that left is taken.
        assert_eq!(v.merge(vec![entry("c", 7, 0, 0)]).len(), 1);
    }

    #[test]
    fn the_digest_follows_the_connections_and_their_revs() {
        let mut v = PresenceView::default();
        assert_eq!(v.digest(), 0);
        v.apply(&ev(Join, "c1", "u", 5, 0, json!({})));
        v.apply(&ev(Join, "c2", "w", 6, 0, json!({})));
        v.apply(&ev(Update, "c1", "u", 5, 2, json!({"s": 2})));
        assert_eq!(v.digest(), digest::of([("c1", 2), ("c2", 0)]));
        v.apply(&ev(Leave, "c2", "w", 6, 0, json!(null)));
        assert_eq!(v.digest(), digest::entry("c1", 2));
    }

    #[test]
    fn members_merge_tabs_of_one_user() {
        let mut v = PresenceView::default();
        v.apply(&ev(Join, "a1", "alice", 1, 0, json!({"tab": 1})));
        v.apply(&ev(Join, "b1", "bob", 2, 0, json!({})));
        v.apply(&ev(Join, "a2", "alice", 3, 0, json!({"tab": 2})));
        let members = v.members();
        assert_eq!(members.len(), 2);
        let alice = &members[0];
        assert_eq!(alice.user_id, "alice");
        assert_eq!(alice.connections.len(), 2);
        assert_eq!(alice.state["tab"], 2, "the latest tab's state");
        v.apply(&ev(Leave, "a2", "alice", 3, 0, json!(null)));
        assert_eq!(
            v.members()[0].connections.len(),
            1,
            "alice stays with one tab"
        );
        v.apply(&ev(Leave, "a1", "alice", 1, 0, json!(null)));
        assert_eq!(v.members().len(), 1, "alice leaves with her last tab");
    }
}
