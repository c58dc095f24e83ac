//! One room's channel inside the client: its intended state, its join phase, its view, its
//! storage and its heartbeat schedule. The client tells it what happened; its methods are its transitions.

use crate::backoff::Backoff;
use crate::event::RequestId;
use crate::paging::Paging;
use crate::storage::RoomStorage;
use crate::time::Instant;
use crate::view::PresenceView;
use crate::wire::{
    JoinResponse, PresenceEntry, PresenceEvent, PresenceLevel, Resume, SelfInfo, State,
};

/// Where a channel is in joining its room.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// A join is in flight; events are buffered until its snapshot arrives.
    Joining,
    /// Joined, as the channel's `me` says.
    Joined,
    /// Must join again: when connected, at `at` (or at once when `None`).
    NeedsJoin {
        /// Not before this time.
        at: Option<Instant>,
    },
}

/// What a channel has to do, when its deadline has come (see [`Channel::due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Join the room (again).
    Join,
    /// Send the patch the throttle held back, with a heartbeat.
    Patch,
    /// Send the periodic heartbeat.
    Heartbeat,
    /// Load the room's storage again (an earlier load failed).
    LoadStorage,
}

/// A channel's state. The client reads it and tells it what happened (a join sent, answered or
/// refused, a heartbeat sent, answered or missed, the connection lost); the channel moves its own
/// fields accordingly.
#[derive(Debug)]
pub(crate) struct Channel {
    user_id: String,
    /// What the joins ask for of the room's presence.
    level: PresenceLevel,
    /// The state as the app last set it: sent again on every rejoin.
    state: State,
    phase: Phase,
    /// The last join's answer about this client, its epoch following the heartbeat acks. Kept
    /// when the connection is lost: the next join resumes the entry with its `connId` and
    /// `resumeToken`.
    me: Option<SelfInfo>,
    view: PresenceView,
    /// Where the view is in reading its last snapshot's pages.
    paging: Paging,
    /// The room's storage: its view and its load.
    storage: RoomStorage,
    /// The room's number of connections as the server last said (a snapshot's or page's
    /// `total`, a `presence:count`).
    total: Option<u64>,
    /// When the view was last checked against the room: replaced by a snapshot, or its digest
    /// sent with a heartbeat. The next digest goes a heartbeat interval later.
    checked_at: Instant,
    /// Events that arrived while joining, replayed onto the snapshot.
    buffered: Vec<PresenceEvent>,
    /// When the next heartbeat is due (while joined).
    next_heartbeat: Instant,
    /// A heartbeat is waiting for its ack.
    heartbeat_in_flight: bool,
    /// Heartbeats in a row that went unanswered.
    missed: u32,
    /// The first join succeeded (later joins are rejoins).
    ever_joined: bool,
    /// Failed rejoins in a row, for backoff.
    rejoin_failures: u32,
    /// When the last state patch was sent (for `presence.throttle`).
    last_patch_at: Option<Instant>,
    /// Patches merged while throttled, and the updates waiting for them; sent at `flush_at`.
    throttled: Option<Throttled>,
}

/// State updates held back by the throttle, to go out together in one heartbeat.
#[derive(Debug)]
struct Throttled {
    /// The merged patch: the latest value of each key.
    patch: State,
    /// Every `update_state` request it answers.
    requests: Vec<RequestId>,
    /// When it goes out.
    flush_at: Instant,
}

impl Channel {
    /// A channel about to join as `user_id` with `state`, at presence `level`.
    pub(crate) fn new(user_id: String, state: State, level: PresenceLevel) -> Self {
        Self {
            user_id,
            level,
            state,
            phase: Phase::Joining,
            me: None,
            view: PresenceView::default(),
            paging: Paging::Complete,
            storage: RoomStorage::default(),
            total: None,
            checked_at: Instant::from_millis(0),
            buffered: Vec::new(),
            next_heartbeat: Instant::from_millis(0),
            heartbeat_in_flight: false,
            missed: 0,
            ever_joined: false,
            rejoin_failures: 0,
            last_patch_at: None,
            throttled: None,
        }
    }

    // ===== what it holds =====

    /// The user it joins as.
    pub(crate) fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The state as the app last set it (what a join sends).
    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    /// What its joins ask for of the room's presence.
    pub(crate) fn level(&self) -> PresenceLevel {
        self.level
    }

    /// The room as this client knows it.
    pub(crate) fn view(&self) -> &PresenceView {
        &self.view
    }

    /// The room's storage.
    pub(crate) fn storage(&self) -> &RoomStorage {
        &self.storage
    }

    /// The room's storage, to tell it what happened.
    pub(crate) fn storage_mut(&mut self) -> &mut RoomStorage {
        &mut self.storage
    }

    /// Whether the view holds the room's whole snapshot: joined, and its last snapshot's pages
    /// all read.
    pub(crate) fn is_complete(&self) -> bool {
        self.phase == Phase::Joined && self.paging.is_complete()
    }

    /// How many connections the room has, as far as the channel knows: a `"count"` member's is
    /// the server's latest count (`None` before the first); an `"events"` member's is its
    /// view's (`None` before its first join's answer; short of the room's while a paged
    /// snapshot is still being read).
    pub(crate) fn count(&self) -> Option<u64> {
        match self.level {
            PresenceLevel::Count => self.total,
            PresenceLevel::Events => self.ever_joined.then_some(self.view.len() as u64),
        }
    }

    /// The epoch while joined.
    pub(crate) fn epoch(&self) -> Option<u64> {
        self.identity().map(|me| me.epoch)
    }

    /// This client's identity in the room, while joined.
    pub(crate) fn identity(&self) -> Option<&SelfInfo> {
        self.me.as_ref().filter(|_| self.phase == Phase::Joined)
    }

    /// What the next join sends as `resume`: the last join's `{connId, resumeToken}`.
    pub(crate) fn resume(&self) -> Option<Resume> {
        self.me.as_ref()?.resume()
    }

    /// Whether a join of this channel ever succeeded (the next ones are rejoins).
    pub(crate) fn ever_joined(&self) -> bool {
        self.ever_joined
    }

    // ===== when it acts =====

    /// When the channel next needs to act, while connected.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Joined => {
                let heartbeat = (!self.heartbeat_in_flight).then_some(self.next_heartbeat);
                let flush = self.throttled.as_ref().map(|t| t.flush_at);
                let load = self.storage.retry_at();
                heartbeat.into_iter().chain(flush).chain(load).min()
            }
            Phase::NeedsJoin { at } => Some(at.unwrap_or(Instant::from_millis(0))),
            Phase::Joining => None,
        }
    }

    /// What is due at `now`, while connected: a held patch goes before the periodic heartbeat,
    /// and both before a storage load.
    pub(crate) fn due(&self, now: Instant) -> Option<Due> {
        match &self.phase {
            Phase::Joined if self.throttled.as_ref().is_some_and(|t| t.flush_at <= now) => {
                Some(Due::Patch)
            }
            Phase::Joined if !self.heartbeat_in_flight && self.next_heartbeat <= now => {
                Some(Due::Heartbeat)
            }
            Phase::Joined if self.storage.retry_at().is_some_and(|at| at <= now) => {
                Some(Due::LoadStorage)
            }
            Phase::NeedsJoin { at } if at.is_none_or(|at| at <= now) => Some(Due::Join),
            _ => None,
        }
    }

    // ===== joins =====

    /// A join was sent: events are buffered until its answer (its storage is loaded after it).
    /// Returns the updates the throttle
    /// held back, which fail (their patch is in the state the join sends).
    pub(crate) fn join_sent(&mut self) -> Vec<RequestId> {
        self.phase = Phase::Joining;
        self.buffered.clear();
        self.paging.stop();
        // The join's answer loads the storage anew.
        self.storage.stop();
        self.take_throttled()
    }

    /// The join succeeded at `now`: the answer's `self` is this client's entry, its snapshot
    /// the room or its first page (the events buffered meanwhile are replayed onto it), and the
    /// first heartbeat is due `heartbeat_interval_ms` later. Returns the view's connections, for
    /// the app.
    pub(crate) fn joined(
        &mut self,
        now: Instant,
        answer: &JoinResponse,
        heartbeat_interval_ms: u64,
    ) -> Vec<PresenceEntry> {
        self.phase = Phase::Joined;
        // The credentials of the next rejoin too.
        self.me = Some(answer.self_info.clone());
        let more = answer.cursor.is_some();
        let connections = self.reset_view(now, &answer.snapshot, more);
        self.next_heartbeat = now.add_ms(heartbeat_interval_ms);
        self.heartbeat_in_flight = false;
        self.missed = 0;
        self.rejoin_failures = 0;
        self.ever_joined = true;
        connections
    }

    /// A rejoin failed in a way worth retrying: the next goes after a backoff that grows with
    /// each failure in a row (the reconnection's, drawn with `rng`).
    pub(crate) fn schedule_rejoin(
        &mut self,
        now: Instant,
        backoff: Backoff,
        rng: &mut fastrand::Rng,
    ) {
        let delay_ms = backoff.delay_ms(self.rejoin_failures, rng);
        self.rejoin_failures += 1;
        self.phase = Phase::NeedsJoin {
            at: Some(now.add_ms(delay_ms)),
        };
    }

    /// The connection was lost: the channel joins again once connected. Returns the updates the
    /// throttle held back, which can no longer be sent.
    pub(crate) fn connection_lost(&mut self) -> Vec<RequestId> {
        self.phase = Phase::NeedsJoin { at: None };
        self.heartbeat_in_flight = false;
        self.missed = 0;
        self.buffered.clear();
        self.paging.stop();
        self.storage.stop();
        self.take_throttled()
    }

    /// The channel is gone (left, or the client disconnected). Returns the updates the throttle
    /// held back, which will never be sent.
    pub(crate) fn left(mut self) -> Vec<RequestId> {
        self.take_throttled()
    }

    // ===== presence =====

    /// A presence event of the room: buffered while joining, applied to the view while joined,
    /// dropped while waiting to rejoin. Returns it when it changed the view (the app hears of
    /// it; duplicates and stale events do not).
    pub(crate) fn presence_event(&mut self, event: PresenceEvent) -> Option<PresenceEvent> {
        match self.phase {
            Phase::Joining => {
                self.buffered.push(event);
                None
            }
            Phase::Joined => self.view.apply(&event).then_some(event),
            Phase::NeedsJoin { .. } => None,
        }
    }

    /// A snapshot of the room the server sent while joined (`presence:sync`, or a heartbeat ack
    /// that found the digests differ), or its first page when `more` follow, replaces the view
    /// at `now` (a paging run in flight is superseded). Returns its connections, for the app;
    /// `None` (and nothing changes) when not joined.
    pub(crate) fn resync(
        &mut self,
        now: Instant,
        snapshot: &[PresenceEntry],
        more: bool,
    ) -> Option<Vec<PresenceEntry>> {
        if self.phase != Phase::Joined {
            return None;
        }
        Some(self.reset_view(now, snapshot, more))
    }

    /// The next page of the snapshot is asked for as request `ack`.
    pub(crate) fn page_requested(&mut self, ack: u64) {
        self.paging.requested(ack);
    }

    /// The answer to page request `ack`, with `more` pages after it: merged into the view when
    /// it is the current run's (entries the view knows newer, or saw leave, are not taken).
    /// Returns the entries taken, `None` for an outdated answer.
    pub(crate) fn page(
        &mut self,
        ack: u64,
        page: Vec<PresenceEntry>,
        more: bool,
    ) -> Option<Vec<PresenceEntry>> {
        if self.phase != Phase::Joined || !self.paging.answered(ack, more) {
            return None;
        }
        Some(self.view.merge(page))
    }

    /// Page request `ack` failed: the run stops (the view stays partial until the next
    /// snapshot). True when it was the current run's.
    pub(crate) fn page_failed(&mut self, ack: u64) -> bool {
        self.paging.failed(ack)
    }

    /// The server's number of connections in the room (a `total` or a `presence:count`), if it
    /// said one. Returns the new count when it changed a `"count"` member's (the app hears of
    /// it; an `"events"` member follows its events).
    pub(crate) fn server_count(&mut self, count: Option<u64>) -> Option<u64> {
        let count = count?;
        let changed = self.total.replace(count) != Some(count);
        (changed && self.level == PresenceLevel::Count).then_some(count)
    }

    // ===== state updates =====

    /// Merges `patch` into the state the app set (kept for the next join, joined or not).
    pub(crate) fn merge_state(&mut self, patch: &State) {
        for (k, v) in patch {
            self.state.insert(k.clone(), v.clone());
        }
    }

    /// A state update `request` at `now`, with a throttle window of `window_ms`: returns its patch
    /// to send at once, or `None` when the throttle holds it back until the window after the last
    /// patch sent ends (merged with the others of that window, the latest value of each key
    /// winning).
    pub(crate) fn throttle_patch(
        &mut self,
        now: Instant,
        patch: State,
        request: RequestId,
        window_ms: u64,
    ) -> Option<State> {
        if let Some(held) = &mut self.throttled {
            held.patch.extend(patch);
            held.requests.push(request);
            return None;
        }
        if let Some(last) = self.last_patch_at
            && now < last.add_ms(window_ms)
        {
            self.throttled = Some(Throttled {
                patch,
                requests: vec![request],
                flush_at: last.add_ms(window_ms),
            });
            return None;
        }
        self.last_patch_at = Some(now);
        Some(patch)
    }

    /// The patch the throttle held back, and the updates it answers, to send at `now`.
    pub(crate) fn release_patch(&mut self, now: Instant) -> Option<(State, Vec<RequestId>)> {
        let held = self.throttled.take()?;
        self.last_patch_at = Some(now);
        Some((held.patch, held.requests))
    }

    // ===== heartbeats =====

    /// A heartbeat was sent at `now`: the next periodic one is due `interval_ms` later. Returns
    /// the view's digest to send with it, when the view was last checked at least `interval_ms`
    /// ago: a burst of updates sends one, not one each (their own events may still be on the way
    /// back).
    /// A `"count"` member sends none (the server keeps its view empty), nor does a view whose
    /// pages are still being read (it is knowingly partial).
    pub(crate) fn heartbeat_sent(&mut self, now: Instant, interval_ms: u64) -> Option<u32> {
        self.heartbeat_in_flight = true;
        self.next_heartbeat = now.add_ms(interval_ms);
        if self.level == PresenceLevel::Count
            || self.paging.is_reading()
            || now < self.checked_at.add_ms(interval_ms)
        {
            return None;
        }
        self.checked_at = now;
        Some(self.view.digest())
    }

    /// The server acknowledged a heartbeat of the current join; `epoch` is now in force.
    pub(crate) fn heartbeat_acked(&mut self, epoch: u64) {
        self.heartbeat_in_flight = false;
        self.missed = 0;
        if let Some(me) = &mut self.me {
            me.epoch = epoch;
        }
    }

    /// The server refused a heartbeat of the current join.
    pub(crate) fn heartbeat_refused(&mut self) {
        self.heartbeat_in_flight = false;
    }

    /// A heartbeat went unanswered. Returns how many did in a row.
    pub(crate) fn heartbeat_missed(&mut self) -> u32 {
        self.heartbeat_in_flight = false;
        self.missed += 1;
        self.missed
    }

    // ===== internals =====

    /// Replaces the view with the room's `snapshot` (its first page when `more` follow) and
    /// replays onto it the events buffered while joining; the view counts as checked at `now`.
    /// Returns its connections.
    fn reset_view(
        &mut self,
        now: Instant,
        snapshot: &[PresenceEntry],
        more: bool,
    ) -> Vec<PresenceEntry> {
        self.view.reset(snapshot);
        self.paging = Paging::after_first_page(more);
        for event in std::mem::take(&mut self.buffered) {
            self.view.apply(&event);
        }
        self.checked_at = now;
        self.view.connections()
    }

    /// Takes the updates the throttle holds back (their patch is already in `state`).
    fn take_throttled(&mut self) -> Vec<RequestId> {
        self.throttled
            .take()
            .map(|t| t.requests)
            .unwrap_or_default()
    }
}
