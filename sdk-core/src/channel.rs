//! One room's channel inside the client: its intended state, its join phase, its view and its
//! heartbeat schedule.

use crate::event::RequestId;
use crate::view::PresenceView;
use crate::wire::{PresenceEvent, State};

/// Where a channel is in joining its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A join is in flight; events are buffered until its snapshot arrives.
    Joining,
    /// Joined with this identity.
    Joined {
        /// The connection id.
        conn_id: String,
        /// The epoch sent with each heartbeat.
        epoch: u64,
    },
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
    pub(crate) view: PresenceView,
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
            view: PresenceView::default(),
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
        match &self.phase {
            Phase::Joined { epoch, .. } => Some(*epoch),
            _ => None,
        }
    }

    /// When the channel next needs to act, while connected.
    pub(crate) fn deadline(&self) -> Option<u64> {
        match &self.phase {
            Phase::Joined { .. } => {
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
