//! The rooms a token allows: its `rooms` claim, a list of patterns such as `"doc:42"` (that room)
//! or `"team-*"` (`*` is any run of characters, `?` any one character). No claim: every room.

use std::sync::Arc;

use wildmatch::WildMatch;

/// The rooms one token may use.
#[derive(Debug, Clone, Default)]
pub struct RoomPatterns(Option<Arc<[WildMatch]>>);

impl RoomPatterns {
    /// Every room (a token without the `rooms` claim).
    pub fn any() -> Self {
        Self(None)
    }

    /// Only the rooms matching one of `patterns` (none at all when the list is empty).
    pub fn only<S: AsRef<str>>(patterns: &[S]) -> Self {
        Self(Some(
            patterns
                .iter()
                .map(|p| WildMatch::new(p.as_ref()))
                .collect(),
        ))
    }

    /// Whether `room` is allowed.
    pub fn allows(&self, room: &str) -> bool {
        match &self.0 {
            None => true,
            Some(patterns) => patterns.iter().any(|p| p.matches(room)),
        }
    }
}

impl PartialEq for RoomPatterns {
    fn eq(&self, other: &Self) -> bool {
        let text = |p: &Self| {
            p.0.as_ref()
                .map(|list| list.iter().map(ToString::to_string).collect::<Vec<_>>())
        };
        text(self) == text(other)
    }
}

impl Eq for RoomPatterns {}

#[cfg(test)]
mod tests {
    use super::RoomPatterns;

    #[test]
    fn no_claim_allows_every_room() {
        assert!(RoomPatterns::any().allows("anything"));
    }

    #[test]
    fn exact_and_wildcard_patterns() {
        let p = RoomPatterns::only(&["doc:42", "team-*"]);
        assert!(p.allows("doc:42"));
        assert!(!p.allows("doc:420"));
        assert!(!p.allows("doc:4"));
        assert!(p.allows("team-"));
        assert!(p.allows("team-red"));
        assert!(!p.allows("xteam-red"));
    }

    #[test]
    fn an_empty_list_allows_nothing() {
        assert!(!RoomPatterns::only::<&str>(&[]).allows("doc:42"));
    }
}
