//! What the members of a large-room run share with each other and with the run that steers
//! them: one slot per member (its connection id, whether its view is complete, the last count
//! it read), the update phase's bookkeeping, latencies and errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::super::stats::Latencies;
use super::view::Truth;

/// Where a run is; every member follows it through a `watch` channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Members join.
    Joining,
    /// Everyone joined: views converge to the truth.
    Settling,
    /// The updaters patch their state.
    Updating,
    /// The leavers go.
    Leaving,
    /// Everyone disconnects.
    Done,
}

/// The step and the truth views are compared with.
#[derive(Debug, Clone)]
pub(super) struct Stage {
    /// Where the run is.
    pub step: Step,
    /// What views should hold (none while joining).
    pub truth: Option<Arc<Truth>>,
}

/// One member, as the run sees it.
#[derive(Debug, Default)]
pub(super) struct Slot {
    /// Its connection id, once its join was answered.
    pub conn: OnceLock<String>,
    /// The generation of the truth its view equals (0: none).
    pub complete: AtomicU64,
    /// The last `presence:count` it read.
    pub count: AtomicU64,
}

/// The update phase's deliveries: each update, to each other member, exactly once.
#[derive(Debug, Default)]
pub(super) struct Deliveries {
    /// Deliveries due: for each update acked as changed, the members other than its sender.
    pub expected: AtomicU64,
    /// Deliveries received (one per receiver, sender and number).
    pub received: AtomicU64,
    /// Deliveries received again.
    pub duplicate: AtomicU64,
    /// Updates answered (changed or not, refused or timed out).
    pub settled: AtomicU64,
}

/// Latencies of a run.
#[derive(Default)]
pub(super) struct Recorded {
    /// Join acks.
    pub join: Latencies,
    /// The heartbeater's heartbeat acks.
    pub heartbeater: Latencies,
    /// An update's send to each other member's receipt.
    pub fanout: Latencies,
    /// Leave acks.
    pub leave: Latencies,
}

/// What the members of one run share.
pub(super) struct Run {
    /// The server.
    pub target_url: String,
    /// How long an ack may take before it counts as a timeout.
    pub ack_timeout: Duration,
    /// Updates each updater sends.
    pub updates: u64,
    /// The room.
    pub room_id: String,
    /// Where times are measured from.
    pub origin: Instant,
    /// One per member, by index.
    pub slots: Vec<Slot>,
    /// Joins answered, refused or failed.
    pub settled: AtomicUsize,
    /// The last truth's generation.
    pub generation: AtomicU64,
    /// The last join ack, ns since `origin`.
    pub last_join_ack_ns: AtomicU64,
    /// `"events"` members in the room while updates go out (the heartbeater included).
    pub receivers: AtomicU64,
    /// The update phase's deliveries.
    pub deliveries: Deliveries,
    /// Frames with per-member presence that reached a `"count"` member.
    pub per_member_frames: AtomicU64,
    /// Each updater's (by connection id) send time of update `n`, ns since `origin`, at `[n]`.
    pub update_sent: Mutex<HashMap<String, Vec<u64>>>,
    /// Latencies.
    pub latencies: Mutex<Recorded>,
    /// Errors by code (timeouts apart).
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// Acks that never came within the ack timeout.
    pub timeouts: AtomicU64,
    /// The heartbeater's own errors and timeouts, by code (`timeout` included).
    pub heartbeater_errors: Mutex<BTreeMap<String, u64>>,
}

impl Run {
    /// A run of `members` slots in a room of its own.
    pub fn new(target_url: &str, ack_timeout: Duration, updates: u64, members: usize) -> Self {
        Run {
            target_url: target_url.to_string(),
            ack_timeout,
            updates,
            room_id: crate::unique(&format!("large-{}", unix_ms())),
            origin: Instant::now(),
            slots: (0..members).map(|_| Slot::default()).collect(),
            settled: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            last_join_ack_ns: AtomicU64::new(0),
            receivers: AtomicU64::new(0),
            deliveries: Deliveries::default(),
            per_member_frames: AtomicU64::new(0),
            update_sent: Mutex::new(HashMap::new()),
            latencies: Mutex::new(Recorded::default()),
            errors: Mutex::new(BTreeMap::new()),
            timeouts: AtomicU64::new(0),
            heartbeater_errors: Mutex::new(BTreeMap::new()),
        }
    }

    /// Now, ns since `origin`.
    pub fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// The instant `ns` after `origin`.
    pub fn at(&self, ns: u64) -> Instant {
        self.origin + Duration::from_nanos(ns)
    }

    /// Counts an error (`heartbeater`: the heartbeater's, counted apart as well).
    pub fn error(&self, code: &str, heartbeater: bool) {
        bump(&self.errors, code);
        if heartbeater {
            bump(&self.heartbeater_errors, code);
        }
    }

    /// Counts an ack that never came.
    pub fn timeout(&self, heartbeater: bool) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
        if heartbeater {
            bump(&self.heartbeater_errors, "timeout");
        }
    }

    /// Records latencies.
    pub fn record(&self, what: impl FnOnce(&mut Recorded)) {
        what(&mut self.latencies.lock().expect("latencies lock"));
    }

    /// One more join settled.
    pub fn settle(&self) {
        self.settled.fetch_add(1, Ordering::SeqCst);
    }

    /// The members among `indices` whose join was answered.
    pub fn joined(&self, indices: std::ops::Range<usize>) -> Vec<usize> {
        indices
            .filter(|&i| self.slots[i].conn.get().is_some())
            .collect()
    }

    /// A new truth: a room holding `members`.
    pub fn truth(&self, members: &[usize]) -> Arc<Truth> {
        let conns = members
            .iter()
            .filter_map(|&i| self.slots[i].conn.get().cloned())
            .collect();
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        Arc::new(Truth { generation, conns })
    }

    /// How many of `members` have a view that is not complete against the last truth.
    pub fn incomplete(&self, members: &[usize]) -> usize {
        let generation = self.generation.load(Ordering::SeqCst);
        members
            .iter()
            .filter(|&&i| self.slots[i].complete.load(Ordering::Relaxed) != generation)
            .count()
    }

    /// How many of `members` last read a count other than `total`.
    pub fn miscounted(&self, members: &[usize], total: u64) -> usize {
        members
            .iter()
            .filter(|&&i| self.slots[i].count.load(Ordering::Relaxed) != total)
            .count()
    }
}

fn bump(counts: &Mutex<BTreeMap<String, u64>>, code: &str) {
    *counts
        .lock()
        .expect("error counts lock")
        .entry(code.to_string())
        .or_default() += 1;
}

fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}
