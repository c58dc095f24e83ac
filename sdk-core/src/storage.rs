//! Room storage as a channel keeps it (`docs/protocol.md`, "Room storage"): the view of the
//! room's keys ([`StorageView`]), loaded with `storage:get {roomId}` after every join (a rejoin, a
//! resume) and every `presence:sync`, and kept current from `storage:changed` by the room's `rev`.
//! A change applies only when its `rev` is larger than the view's, and the changes that arrive
//! while a load is in flight wait for its answer: none is lost, none applied twice. Also the
//! answers to the app's requests, and [`Update`], the compare-and-set loop of `update(key, f)`
//! that both SDKs run.

use serde_json::Value;

use crate::backoff::Backoff;
use crate::error::Error;
use crate::event::Completion;
use crate::json;
use crate::protocol::{ErrorCode, fields};
use crate::time::Instant;
use crate::wire::{ErrorAck, StorageChanged, StorageEntries, StorageEntry};

/// How many attempts `update(key, f)` makes before it ends with the last conflict.
pub const UPDATE_ATTEMPTS: u32 = 32;

/// The waits between `update`'s attempts: full jitter under a bound of 10 ms that doubles per
/// conflict, up to 1 s.
const UPDATE_BACKOFF: Backoff = Backoff::from_ms(10, 1_000);

/// A room's storage as this client knows it: its keys, each with its value and version, as of
/// the room's storage revision [`StorageView::rev`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageView {
    /// Sorted by key.
    entries: Vec<(String, StorageEntry)>,
    rev: u64,
    loaded: bool,
}

impl StorageView {
    /// The value and version of `key`, when the room has the key.
    pub fn get(&self, key: &str) -> Option<&StorageEntry> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, when the room has the key.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.get(key).map(|entry| &entry.value)
    }

    /// The version of `key`: 0 when the room does not have it (a write conditional on 0 creates
    /// it).
    pub fn version(&self, key: &str) -> u64 {
        self.get(key).map_or(0, |entry| entry.version)
    }

    /// Every key with its value and version, in key order.
    pub fn entries(&self) -> &[(String, StorageEntry)] {
        &self.entries
    }

    /// How many keys the room has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the room has no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The room's storage revision the view is at: the last load's, or the last change's since.
    pub fn rev(&self) -> u64 {
        self.rev
    }

    /// Whether the view was ever loaded (until then it is empty). A loaded view stays as it was
    /// while the connection is lost, and is loaded again after the rejoin.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Sets `key` to `entry`, or removes it when `entry` is absent (version 0).
    fn put(&mut self, key: &str, entry: StorageEntry) {
        match (self.position(key), entry.version) {
            (Ok(i), 0) => {
                self.entries.remove(i);
            }
            (Err(_), 0) => {}
            (Ok(i), _) => self.entries[i].1 = entry,
            (Err(i), _) => self.entries.insert(i, (key.to_string(), entry)),
        }
    }

    /// Replaces the view with a load's answer (whatever the order of its entries).
    fn reset(&mut self, loaded: StorageEntries) {
        self.entries.clear();
        for (key, entry) in loaded.entries {
            self.put(&key, entry);
        }
        self.rev = loaded.rev;
        self.loaded = true;
    }

    /// Applies `change` when it is newer than the view; true when it did.
    fn apply(&mut self, change: &StorageChanged) -> bool {
        if change.rev <= self.rev {
            return false;
        }
        self.rev = change.rev;
        let entry = StorageEntry {
            value: change.value.clone(),
            version: change.version,
        };
        self.put(&change.key, entry);
        true
    }
}

/// Where a channel is in loading its storage.
#[derive(Debug, Default)]
enum Load {
    /// Nothing in flight or due: a loaded view follows the room's changes; one never loaded
    /// waits for the next join's load.
    #[default]
    Idle,
    /// `storage:get {roomId}` is in flight as request `ack`; the changes that arrived since wait
    /// for its answer.
    InFlight {
        ack: u64,
        changes: Vec<StorageChanged>,
    },
    /// A load failed in a way worth retrying: the next goes at `at`.
    Retry { at: Instant },
}

/// A channel's storage: its view, and where its load is.
#[derive(Debug, Default)]
pub(crate) struct RoomStorage {
    view: StorageView,
    load: Load,
    /// Failed loads in a row, for the retry's backoff.
    failures: u32,
}

impl RoomStorage {
    /// The room's storage as this client knows it.
    pub(crate) fn view(&self) -> &StorageView {
        &self.view
    }

    /// When a failed load is to be tried again.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        match self.load {
            Load::Retry { at } => Some(at),
            _ => None,
        }
    }

    /// A load was sent as request `ack` (it supersedes one in flight).
    pub(crate) fn load_sent(&mut self, ack: u64) {
        self.load = Load::InFlight {
            ack,
            changes: Vec::new(),
        };
    }

    /// The answer to load `ack`: when it is the one in flight, it replaces the view and the
    /// changes that arrived meanwhile apply on top (those its `rev` covers do not). True when the
    /// view was loaded (the app hears of it).
    pub(crate) fn loaded(&mut self, ack: u64, answer: StorageEntries) -> bool {
        let Load::InFlight { ack: current, .. } = self.load else {
            return false;
        };
        if current != ack {
            return false;
        }
        let Load::InFlight { changes, .. } = std::mem::take(&mut self.load) else {
            unreachable!("matched above");
        };
        self.view.reset(answer);
        for change in &changes {
            self.view.apply(change);
        }
        self.failures = 0;
        true
    }

    /// Load `ack` failed at `now`; with `retry`, it is tried again after the backoff (drawn with
    /// `rng`) that grows with each failure in a row. True when it was the load in flight (the app
    /// hears of it).
    pub(crate) fn load_failed(
        &mut self,
        now: Instant,
        ack: u64,
        retry: bool,
        backoff: Backoff,
        rng: &mut fastrand::Rng,
    ) -> bool {
        if !matches!(self.load, Load::InFlight { ack: current, .. } if current == ack) {
            return false;
        }
        self.load = if retry {
            let delay_ms = backoff.delay_ms(self.failures, rng);
            self.failures += 1;
            Load::Retry {
                at: now.add_ms(delay_ms),
            }
        } else {
            Load::Idle
        };
        true
    }

    /// Nothing more comes of the load in flight or due (the connection was lost, or a join went
    /// out): the next join loads again.
    pub(crate) fn stop(&mut self) {
        self.load = Load::Idle;
    }

    /// A `storage:changed` of the room: held while a load is in flight, applied to a loaded view
    /// when newer than it, dropped otherwise (the next load has it). Returns it when it changed
    /// the view.
    pub(crate) fn changed(&mut self, change: StorageChanged) -> Option<StorageChanged> {
        match &mut self.load {
            Load::InFlight { changes, .. } => {
                changes.push(change);
                None
            }
            _ if self.view.loaded && self.view.apply(&change) => Some(change),
            _ => None,
        }
    }
}

/// The app's storage requests, by how their answer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StorageOp {
    /// `storage:set`: `{ok, version}`.
    Set,
    /// `storage:get {roomId, key}`: `{ok, value, version}`.
    Get,
    /// `storage:delete`: `{ok, deleted}`.
    Delete,
}

impl StorageOp {
    /// The server's answer (its `ok: true` part) as the request's completion; `None` for an
    /// answer of another shape.
    pub(crate) fn answer(self, answer: &Value) -> Option<Completion> {
        match self {
            Self::Set => json::uint(answer, fields::VERSION)
                .map(|version| Completion::StorageWritten { version }),
            Self::Get => StorageEntry::from_json(answer).map(Completion::StorageRead),
            Self::Delete => answer
                .get(fields::DELETED)
                .and_then(Value::as_bool)
                .map(|deleted| Completion::StorageDeleted { deleted }),
        }
    }
}

/// A refusal `{ok:false, error, code}` as an error: a `conflict` that carries the key's
/// `current` entry is an [`Error::Conflict`], any other the server's [`Error::Server`].
pub(crate) fn refusal(refusal: ErrorAck, current: Option<StorageEntry>) -> Error {
    match current {
        Some(current) if refusal.code == ErrorCode::Conflict.as_str() => Error::Conflict {
            message: refusal.error,
            current,
        },
        _ => Error::Server {
            code: refusal.code,
            message: refusal.error,
        },
    }
}

/// The compare-and-set loop of `update(key, f)`, without its I/O (each SDK runs it with its own
/// timer). The first attempt writes `f(value)` on condition that the key is still at the
/// version the view has. A conflict brings the key as it is now: the next attempt computes its
/// value from that, after a random wait that spreads contending writers out (full jitter under a
/// bound of 10 ms that doubles per conflict, up to 1 s). After [`UPDATE_ATTEMPTS`] attempts the
/// last conflict is the update's answer.
#[derive(Debug)]
pub struct Update {
    attempts: u32,
    rng: fastrand::Rng,
}

impl Update {
    /// An update's loop; `seed` seeds the jitter of its waits.
    pub fn new(seed: u64) -> Self {
        Self {
            attempts: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// An attempt failed with `error`. Returns the key as it is now and how long to wait (ms)
    /// before the next attempt, computed from it; or the error the update ends with (one that
    /// is not a conflict, or the last attempt's conflict).
    pub fn retry(&mut self, error: Error) -> Result<(StorageEntry, u64), Error> {
        self.attempts += 1;
        match error {
            Error::Conflict { current, .. } if self.attempts < UPDATE_ATTEMPTS => {
                let wait_ms = UPDATE_BACKOFF.delay_ms(self.attempts - 1, &mut self.rng);
                Ok((current, wait_ms))
            }
            error => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(key: &str, value: Value, version: u64, rev: u64) -> StorageChanged {
        StorageChanged {
            room_id: "r".into(),
            key: key.into(),
            value,
            version,
            user_id: Some("alice".into()),
            rev,
        }
    }

    fn entries(pairs: &[(&str, Value, u64)], rev: u64) -> StorageEntries {
        let entries = pairs
            .iter()
            .map(|(key, value, version)| {
                let entry = StorageEntry {
                    value: value.clone(),
                    version: *version,
                };
                (key.to_string(), entry)
            })
            .collect();
        StorageEntries { entries, rev }
    }

    fn loaded(pairs: &[(&str, Value, u64)], rev: u64) -> RoomStorage {
        let mut storage = RoomStorage::default();
        storage.load_sent(1);
        assert!(storage.loaded(1, entries(pairs, rev)));
        storage
    }

    #[test]
    fn the_view_keeps_keys_sorted_and_follows_writes_and_deletes() {
        let mut storage = loaded(&[("b", json!(2), 1), ("a", json!(1), 4)], 10);
        let keys = |s: &RoomStorage| {
            s.view()
                .entries()
                .iter()
                .map(|(k, _)| k.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&storage),
            ["a", "b"],
            "sorted whatever the answer's order"
        );
        assert_eq!(storage.view().version("a"), 4);
        assert!(storage.changed(change("c", json!("x"), 1, 11)).is_some());
        assert!(storage.changed(change("a", Value::Null, 0, 12)).is_some());
        assert_eq!(keys(&storage), ["b", "c"]);
        assert_eq!(storage.view().version("a"), 0, "deleted: absent");
        assert_eq!(storage.view().value("c"), Some(&json!("x")));
        assert_eq!(storage.view().rev(), 12);
        // A delete of an absent key changes nothing but the rev.
        assert!(storage.changed(change("zz", Value::Null, 0, 13)).is_some());
        assert_eq!(storage.view().len(), 2);
    }

    #[test]
    fn a_change_not_newer_than_the_view_is_dropped() {
        let mut storage = loaded(&[("a", json!(1), 1)], 10);
        assert_eq!(storage.changed(change("a", json!(0), 9, 10)), None);
        assert_eq!(storage.changed(change("a", json!(0), 9, 3)), None);
        assert_eq!(storage.view().value("a"), Some(&json!(1)));
    }

    #[test]
    fn changes_during_a_load_apply_after_it_when_newer_than_its_answer() {
        let mut storage = loaded(&[], 1);
        storage.load_sent(2);
        // One the answer already has (rev 20 ≤ 20), one after it (rev 21).
        assert_eq!(storage.changed(change("a", json!("old"), 1, 20)), None);
        assert_eq!(storage.changed(change("a", json!("new"), 2, 21)), None);
        assert!(
            !storage.loaded(1, entries(&[], 99)),
            "an older load's answer"
        );
        assert!(storage.loaded(2, entries(&[("a", json!("old"), 1)], 20)));
        assert_eq!(storage.view().get("a").unwrap().version, 2);
        assert_eq!(storage.view().rev(), 21);
    }

    #[test]
    fn a_view_never_loaded_takes_no_change() {
        let mut storage = RoomStorage::default();
        assert_eq!(storage.changed(change("a", json!(1), 1, 5)), None);
        assert!(storage.view().is_empty());
        assert!(!storage.view().is_loaded());
    }

    #[test]
    fn a_failed_load_is_retried_after_a_backoff_only_when_told() {
        let backoff = Backoff::from_ms(100, 1_000);
        let mut rng = fastrand::Rng::with_seed(1);
        let now = Instant::from_millis(1_000);
        let mut storage = RoomStorage::default();
        storage.load_sent(7);
        assert!(
            !storage.load_failed(now, 6, true, backoff, &mut rng),
            "not this load"
        );
        assert!(storage.load_failed(now, 7, true, backoff, &mut rng));
        let at = storage.retry_at().expect("a retry is due");
        assert!(at >= now && at <= now.add_ms(100));
        storage.load_sent(8);
        assert!(storage.load_failed(now, 8, false, backoff, &mut rng));
        assert_eq!(storage.retry_at(), None);
    }

    #[test]
    fn answers_read_as_completions_and_refusals_as_errors() {
        assert_eq!(
            StorageOp::Set.answer(&json!({"ok": true, "version": 3})),
            Some(Completion::StorageWritten { version: 3 })
        );
        assert_eq!(
            StorageOp::Delete.answer(&json!({"ok": true, "deleted": false})),
            Some(Completion::StorageDeleted { deleted: false })
        );
        assert_eq!(StorageOp::Set.answer(&json!({"ok": true})), None);
        let refused = |code: &str| ErrorAck {
            error: "no".into(),
            code: code.into(),
        };
        let current = Some(StorageEntry::default());
        let conflict = refusal(refused("conflict"), current.clone());
        assert_eq!(conflict.server_code(), Some(ErrorCode::Conflict));
        assert!(matches!(conflict, Error::Conflict { .. }));
        // A conflict without its `current` is the server's error as it came; a `current`
        // beside another code changes nothing.
        assert!(matches!(
            refusal(refused("conflict"), None),
            Error::Server { .. }
        ));
        let other = refusal(refused("not_joined"), current);
        assert_eq!(
            (other.code(), other.server_code()),
            ("not_joined", Some(ErrorCode::NotJoined))
        );
    }

    #[test]
    fn an_update_retries_conflicts_with_growing_waits_then_gives_up() {
        let conflict = |version| Error::Conflict {
            message: "conflict".into(),
            current: StorageEntry {
                value: json!(version),
                version,
            },
        };
        let mut update = Update::new(3);
        let mut waits = Vec::new();
        for attempt in 1..UPDATE_ATTEMPTS {
            let (current, wait) = update.retry(conflict(u64::from(attempt))).unwrap();
            assert_eq!(
                current.version,
                u64::from(attempt),
                "the conflict's current"
            );
            waits.push(wait);
        }
        assert!(
            waits[0] <= 10 && waits.iter().all(|&w| w <= 1_000),
            "{waits:?}"
        );
        assert!(
            waits[20..].iter().any(|&w| w > 100),
            "waits grow: {waits:?}"
        );
        assert_eq!(
            update.retry(conflict(99)),
            Err(conflict(99)),
            "the last attempt"
        );
        let mut update = Update::new(3);
        assert_eq!(
            update.retry(Error::Timeout),
            Err(Error::Timeout),
            "not a conflict"
        );
    }
}
