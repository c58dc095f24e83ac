//! A room's digest: a small number both sides compute over the room's entries, so that a client
//! can tell, with each heartbeat, whether its view still matches the room (`docs/protocol.md`,
//! "Views heal themselves"). The server keeps it as the entries change (a state change adds 1);
//! the SDK computes it over its view.
//!
//! Each entry contributes the 32-bit FNV-1a hash of its `connId` plus its `rev`; the room's digest
//! is the sum of its entries' modulo 2^32 (0 for an empty room). A missed join or leave changes it
//! by a hash, a missed update by its count: a view that missed anything differs but by chance
//! (about 1 in 2^32). An entry's user and state are fixed by its connection and rev, so they need
//! not be hashed.

/// One entry's contribution to its room's digest.
pub fn entry(conn_id: &str, rev: u64) -> u32 {
    fnv1a(conn_id.as_bytes()).wrapping_add(rev as u32)
}

/// The digest of a room holding `entries` (`(connId, rev)` pairs), in any order.
pub fn of<'a>(entries: impl IntoIterator<Item = (&'a str, u64)>) -> u32 {
    entries.into_iter().fold(0, |digest, (conn, rev)| {
        digest.wrapping_add(entry(conn, rev))
    })
}

/// 32-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_the_fnv1a_of_its_conn_plus_its_rev() {
        // FNV-1a 32 of "a" is 0xe40c292c, as any implementation computes it (the presence Lua
        // scripts included: `tests/tests/resume.rs` checks the server's digest against this).
        assert_eq!(entry("a", 0), 0xe40c_292c);
        assert_eq!(entry("a", 3), 0xe40c_292f);
        assert_eq!(entry("a", u64::from(u32::MAX) + 1), entry("a", 0));
    }

    #[test]
    fn the_digest_is_the_sum_of_the_entries_in_any_order() {
        let one = of([("a", 0), ("b", 3)]);
        assert_eq!(one, of([("b", 3), ("a", 0)]));
        assert_eq!(one, entry("a", 0).wrapping_add(entry("b", 3)));
        assert_eq!(of([]), 0);
        assert_ne!(one, of([("a", 0), ("b", 4)]), "a missed update shows");
        assert_ne!(one, of([("a", 0)]), "a missed join shows");
    }
}
