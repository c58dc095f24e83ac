//! Reading a room's snapshot page by page (`presence:members`, `docs/protocol.md`, "Large
//! rooms"). A snapshot that comes with a `cursor` (a join's answer, a heartbeat's, a
//! `presence:sync`) is the first page of the room; the client asks for the next with the cursor
//! of the page before, until a page comes without one. Each page request is known by its ack id:
//! the answer to any other (one of a run that a newer snapshot superseded) is ignored.

/// Where a channel is in reading its last snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Paging {
    /// The view holds every page of its last snapshot (or the server does not page).
    #[default]
    Complete,
    /// More pages to read: the next one is (or is about to be) asked for as request `ack`.
    Reading {
        /// The ack id of the page request in flight (`None` until it is sent).
        ack: Option<u64>,
    },
    /// Stopped before the last page (a request failed, the connection was lost, a rejoin went
    /// out): the view is partial until the next snapshot.
    Stopped,
}

impl Paging {
    /// After a snapshot's first page: complete, or reading when `more` pages follow.
    pub(crate) fn after_first_page(more: bool) -> Self {
        if more {
            Self::Reading { ack: None }
        } else {
            Self::Complete
        }
    }

    /// Whether the view holds the whole snapshot.
    pub(crate) fn is_complete(self) -> bool {
        matches!(self, Self::Complete)
    }

    /// Whether pages are being read (the view is knowingly partial).
    pub(crate) fn is_reading(self) -> bool {
        matches!(self, Self::Reading { .. })
    }

    /// The next page was asked for as request `ack`.
    pub(crate) fn requested(&mut self, ack: u64) {
        if self.is_reading() {
            *self = Self::Reading { ack: Some(ack) };
        }
    }

    /// Whether `ack` is the page request this run waits for.
    pub(crate) fn is_current(self, ack: u64) -> bool {
        matches!(self, Self::Reading { ack: Some(current) } if current == ack)
    }

    /// The answer to request `ack` arrived, with `more` pages after it: true when it is the
    /// current run's (then the next request is due, or the view is complete).
    pub(crate) fn answered(&mut self, ack: u64, more: bool) -> bool {
        if !self.is_current(ack) {
            return false;
        }
        *self = Self::after_first_page(more);
        true
    }

    /// Request `ack` failed: true when it was the current run's, which then stops.
    pub(crate) fn failed(&mut self, ack: u64) -> bool {
        if !self.is_current(ack) {
            return false;
        }
        *self = Self::Stopped;
        true
    }

    /// The run stops where it is (connection lost, rejoin sent); a complete view stays complete.
    pub(crate) fn stop(&mut self) {
        if self.is_reading() {
            *self = Self::Stopped;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_request_moves_the_run() {
        let mut p = Paging::after_first_page(true);
        assert!(!p.is_complete() && p.is_reading());
        p.requested(4);
        assert!(!p.answered(3, false), "an outdated run's answer");
        assert!(p.answered(4, true));
        assert_eq!(p, Paging::Reading { ack: None });
        p.requested(5);
        assert!(!p.failed(4));
        assert!(p.answered(5, false));
        assert!(p.is_complete());
        let mut p = Paging::after_first_page(true);
        p.requested(6);
        assert!(p.failed(6));
        assert_eq!(p, Paging::Stopped);
        p.requested(7);
        assert_eq!(p, Paging::Stopped, "a stopped run asks for nothing");
        let mut p = Paging::Complete;
        p.stop();
        assert!(p.is_complete());
    }
}
