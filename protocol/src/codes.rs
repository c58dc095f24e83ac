//! The closed set of error codes a refusal `{ok:false, error, code}` carries. Clients branch on
//! them, so a code is never renamed; a new one is a protocol change, documented first in
//! `docs/protocol.md` (a test checks that its table lists exactly these).

/// The machine-readable code of a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum ErrorCode {
    /// The payload is malformed; the message names the field.
    InvalidPayload,
    /// A heartbeat carried an epoch that is not the connection's current one: rejoin.
    StaleEpoch,
    /// The connection is not (or no longer) joined to the room: rejoin.
    NotJoined,
    /// The connection may not do this (wrong user for its token, or not a member of the room).
    Forbidden,
    /// The REST API was called without a valid bearer token (HTTP 401). A Socket.IO connection
    /// is refused with a `CONNECT_ERROR` whose message starts with `unauthorized:` instead.
    Unauthorized,
    /// The connection sent more requests than its rate limit allows: retry later.
    RateLimited,
    /// The server failed to complete the request: retry.
    Internal,
    /// The store (Redis) did not answer in time or could not be reached: retry later.
    Unavailable,
    /// A configured limit is reached (rooms per connection, connections per address): the
    /// message names it.
    LimitExceeded,
    /// No module handles the event: the message names it.
    UnknownEvent,
    /// A compare-and-set's `ifVersion` is not the key's version; the refusal carries the key's
    /// `current` value and version.
    Conflict,
}

impl ErrorCode {
    /// Every code, in the order `docs/protocol.md` lists them.
    pub const ALL: [ErrorCode; 11] = [
        Self::InvalidPayload,
        Self::StaleEpoch,
        Self::NotJoined,
        Self::Forbidden,
        Self::Unauthorized,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
        Self::LimitExceeded,
        Self::UnknownEvent,
        Self::Conflict,
    ];

    /// The code as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidPayload => "invalid_payload",
            Self::StaleEpoch => "stale_epoch",
            Self::NotJoined => "not_joined",
            Self::Forbidden => "forbidden",
            Self::Unauthorized => "unauthorized",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::LimitExceeded => "limit_exceeded",
            Self::UnknownEvent => "unknown_event",
            Self::Conflict => "conflict",
        }
    }

    /// The code spelled `code` on the wire; `None` for a code outside the set (a newer server's).
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.as_str() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_no_two_share_a_spelling() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        let mut spellings: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        spellings.sort_unstable();
        spellings.dedup();
        assert_eq!(spellings.len(), ErrorCode::ALL.len());
        assert_eq!(
            ErrorCode::parse("timeout"),
            None,
            "a client code is not a server code"
        );
        assert_eq!(ErrorCode::parse("Internal"), None, "spellings are exact");
    }

    #[test]
    fn the_set_is_the_one_docs_protocol_md_documents() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
        let doc = std::fs::read_to_string(path).expect("docs/protocol.md");
        let table = doc
            .split("\n## Error codes\n")
            .nth(1)
            .expect("an Error codes section")
            .split("\n## ")
            .next()
            .unwrap_or_default();
        // The first column of each row: "| `code` | meaning | what a client does |".
        let documented: Vec<&str> = table
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
            .collect();
        let ours: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(documented, ours, "docs/protocol.md's table, in order");
    }
}
