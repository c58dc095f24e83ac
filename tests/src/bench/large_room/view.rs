//! A member's view of the room, kept as a client must keep it from pages and events, and
//! compared with the truth incrementally: whether a view of 1,000 entries is complete is known
//! after each change without walking it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The connections the room should hold, as the generator knows them from the join answers.
#[derive(Debug, Default)]
pub(super) struct Truth {
    /// Which truth of the run this is (1, 2, …): a view reports itself complete against one.
    pub generation: u64,
    /// Their connection ids.
    pub conns: HashSet<String>,
}

/// Connection id → `(epoch, rev)`, with tombstones for the leaves seen.
#[derive(Debug, Default)]
pub(super) struct View {
    entries: HashMap<String, (u64, u64)>,
    /// Connection id → the newest epoch a `leave` was seen at: entries at or below it are gone.
    tombstones: HashMap<String, u64>,
    truth: Option<Arc<Truth>>,
    /// Entries the truth does not list.
    outside: usize,
}

impl View {
    /// Takes an entry (a join, an update or a page's entry) unless the view has it at the same
    /// or a newer `(epoch, rev)` or saw it leave at that epoch or later. Whether it was taken.
    pub fn upsert(&mut self, conn: &str, epoch: u64, rev: u64) -> bool {
        if self.tombstones.get(conn).is_some_and(|&gone| gone >= epoch) {
            return false;
        }
        match self.entries.get_mut(conn) {
            Some(order) if *order >= (epoch, rev) => false,
            Some(order) => {
                *order = (epoch, rev);
                true
            }
            None => {
                self.entries.insert(conn.to_string(), (epoch, rev));
                if !self.in_truth(conn) {
                    self.outside += 1;
                }
                true
            }
        }
    }

    /// Applies a `leave` at `epoch`: removes the entry unless it is of a newer join, and
    /// remembers the leave.
    pub fn leave(&mut self, conn: &str, epoch: u64) {
        if self.entries.get(conn).is_some_and(|&(at, _)| at <= epoch) {
            self.entries.remove(conn);
            if !self.in_truth(conn) {
                self.outside -= 1;
            }
        }
        let gone = self.tombstones.entry(conn.to_string()).or_insert(epoch);
        *gone = (*gone).max(epoch);
    }

    /// Forgets the entries (a `presence:sync` replaces them); the tombstones stay.
    pub fn reset(&mut self) {
        self.entries.clear();
        self.outside = 0;
    }

    /// Compares with `truth` from now on.
    pub fn set_truth(&mut self, truth: Arc<Truth>) {
        if self.truth.as_ref().is_some_and(|t| Arc::ptr_eq(t, &truth)) {
            return;
        }
        self.outside = self
            .entries
            .keys()
            .filter(|conn| !truth.conns.contains(*conn))
            .count();
        self.truth = Some(truth);
    }

    /// Whether the view holds exactly the truth's connections.
    #[cfg(test)]
    fn complete(&self) -> bool {
        self.complete_generation().is_some()
    }

    /// The generation of the truth the view holds exactly, if it does.
    pub fn complete_generation(&self) -> Option<u64> {
        let truth = self.truth.as_ref()?;
        (self.outside == 0 && self.entries.len() == truth.conns.len()).then_some(truth.generation)
    }

    fn in_truth(&self, conn: &str) -> bool {
        self.truth.as_ref().is_some_and(|t| t.conns.contains(conn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(conns: &[&str]) -> Arc<Truth> {
        Arc::new(Truth {
            generation: 1,
            conns: conns.iter().map(|c| c.to_string()).collect(),
        })
    }

    #[test]
    fn is_complete_when_it_holds_exactly_the_truth() {
        let mut view = View::default();
        assert!(view.upsert("a", 1, 0));
        assert!(!view.complete(), "no truth yet");
        view.set_truth(truth(&["a", "b"]));
        assert!(!view.complete());
        assert!(view.upsert("b", 2, 0));
        assert!(view.complete());
        assert!(view.upsert("x", 3, 0));
        assert!(!view.complete(), "one too many");
        view.leave("x", 3);
        assert!(view.complete());
        view.set_truth(truth(&["a"]));
        assert!(!view.complete());
        view.leave("b", 2);
        assert!(view.complete());
    }

    #[test]
    fn ignores_what_is_not_newer_and_what_left() {
        let mut view = View::default();
        view.set_truth(truth(&["a"]));
        assert!(view.upsert("a", 5, 1));
        assert!(!view.upsert("a", 5, 1), "the same again");
        assert!(!view.upsert("a", 4, 9), "an older join");
        assert!(view.upsert("a", 5, 2));
        view.leave("a", 5);
        assert!(!view.upsert("a", 5, 3), "a page read before the leave");
        assert!(!view.complete());
        assert!(view.upsert("a", 6, 0), "a new join");
        view.leave("a", 5);
        assert!(view.complete(), "a late leave of the old join");
    }

    #[test]
    fn a_reset_keeps_the_tombstones() {
        let mut view = View::default();
        view.set_truth(truth(&[]));
        view.upsert("a", 1, 0);
        view.leave("a", 1);
        view.upsert("b", 1, 0);
        view.reset();
        assert!(view.complete());
        assert!(!view.upsert("a", 1, 0));
    }
}
