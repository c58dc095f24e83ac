//! One room's channel inside the client: its intended state, its join phase, its view and its
//! heartbeat schedule.

use serde_json::Value;

use crate::event::RequestId;
use crate::view::PresenceView;
use crate::wire::{PresenceEntry, PresenceEvent, SelfInfo, State};

/// Where a channel is in joining its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A join is in flight; events are buffered until its snapshot arrives.
    Joining,
    /// Joined, as the channel's `me` says.
    Joined,
    /// Must join again: when connected, at `at` (or at once when `None`).
    NeedsJoin {
        /// Not before this time.
        at: Option<u64>,
    },
}

/// A channel's state.
#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) user_id: String,
    /// The state as the app last set it: sent again on every rejoin.
    pub(crate) state: State,
    pub(crate) phase: Phase,
    /// The last join's answer about this client, its epoch following the heartbeat acks. Kept
    /// when the connection is lost: the next join resumes the entry with its `connId` and
    /// `resumeToken`.
    pub(crate) me: Option<SelfInfo>,
    pub(crate) view: PresenceView,
    /// When the view was last checked against the room: replaced by a snapshot, or its digest
    /// sent with a heartbeat. The next digest goes a heartbeat interval later.
    pub(crate) checked_at: u64,
    /// Events that arrived while joining, replayed onto the snapshot.
    pub(crate) buffered: Vec<PresenceEvent>,
    /// When the next heartbeat is due (while joined).
    pub(crate) next_heartbeat: u64,
    /// A heartbeat is waiting for its ack.
    pub(crate) heartbeat_in_flight: bool,
    /// Heartbeats in a row that went unanswered.
    pub(crate) missed: u32,
    /// The first join succeeded (later joins are rejoins).
    pub(crate) ever_joined: bool,
    /// Failed rejoins in a row, for backoff.
    pub(crate) rejoin_failures: u32,
    /// When the last state patch was sent (for `presence.throttleMs`).
    pub(crate) last_patch_at: Option<u64>,
    /// Patches merged while throttled, and the updates waiting for them; sent at `flush_at`.
    pub(crate) throttled: Option<Throttled>,
}

/// State updates held back by the throttle, to go out together in one heartbeat.
#[derive(Debug)]
pub(crate) struct Throttled {
    /// The merged patch: the latest value of each key.
    pub(crate) patch: State,
    /// Every `update_state` request it answers.
    pub(crate) requests: Vec<RequestId>,
    /// When it goes out.
    pub(crate) flush_at: u64,
}

impl Channel {
    pub(crate) fn new(user_id: String, state: State) -> Self {
        Self {
            user_id,
            state,
            phase: Phase::Joining,
            me: None,
            view: PresenceView::default(),
            checked_at: 0,
            buffered: Vec::new(),
            next_heartbeat: 0,
            heartbeat_in_flight: false,
            missed: 0,
            ever_joined: false,
            rejoin_failures: 0,
            last_patch_at: None,
            throttled: None,
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
    pub(crate) fn resume(&self) -> Option<Value> {
        self.me.as_ref()?.resume_json()
    }

    /// The digest of the view to send with a heartbeat at `now`, when it was last checked at
    /// least `interval` ago: a burst of updates sends one, not one each (their own events may
    /// still be on the way back).
    pub(crate) fn digest_to_send(&mut self, now: u64, interval: u64) -> Option<u32> {
        if now < self.checked_at.saturating_add(interval) {
            return None;
        }
        self.checked_at = now;
        Some(self.view.digest())
    }

    /// When the channel next needs to act, while connected.
    pub(crate) fn deadline(&self) -> Option<u64> {
        match &self.phase {
            Phase::Joined => {
                let heartbeat = (!self.heartbeat_in_flight).then_some(self.next_heartbeat);
                let flush = self.throttled.as_ref().map(|t| t.flush_at);
                heartbeat.into_iter().chain(flush).min()
            }
            Phase::NeedsJoin { at } => Some(at.unwrap_or(0)),
            Phase::Joining => None,
        }
    }

    /// Whether the throttled patch is due at `now`.
    pub(crate) fn flush_due(&self, now: u64) -> bool {
        self.throttled.as_ref().is_some_and(|t| t.flush_at <= now)
    }

    /// Whether the periodic heartbeat is due at `now`.
    pub(crate) fn heartbeat_due(&self, now: u64) -> bool {
        !self.heartbeat_in_flight && self.next_heartbeat <= now
    }

    /// Replaces the view with the room's `snapshot` and replays onto it the events buffered
    /// while joining; the view counts as checked at `now`. Returns its connections, for the app.
    pub(crate) fn reset_view(
        &mut self,
        now: u64,
        snapshot: &[PresenceEntry],
    ) -> Vec<PresenceEntry> {
        self.view.reset(snapshot);
        for event in std::mem::take(&mut self.buffered) {
            self.view.apply(&event);
        }
        self.checked_at = now;
        self.view.connections()
    }

    /// Marks the channel as needing a join once connected again; returns the updates the
    /// throttle held back, which can no longer be sent.
    pub(crate) fn lose(&mut self) -> Vec<RequestId> {
        self.phase = Phase::NeedsJoin { at: None };
        self.heartbeat_in_flight = false;
        self.missed = 0;
        self.buffered.clear();
        self.take_throttled()
    }

    /// Takes the updates the throttle holds back (their patch is already in `state`).
    pub(crate) fn take_throttled(&mut self) -> Vec<RequestId> {
        self.throttled
            .take()
            .map(|t| t.requests)
            .unwrap_or_default()
    }
}
