//! One room's channel inside the client: its intended state, its join phase, its view and its
//! heartbeat schedule.

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
            Phase::Joined { .. } if !self.heartbeat_in_flight => Some(self.next_heartbeat),
            Phase::NeedsJoin { at } => Some(at.unwrap_or(0)),
            _ => None,
        }
    }

    /// Marks the channel as needing a join once connected again.
    pub(crate) fn lose(&mut self) {
        self.phase = Phase::NeedsJoin { at: None };
        self.heartbeat_in_flight = false;
        self.missed = 0;
        self.buffered.clear();
    }
}
