//! A room's digest: a small number both sides compute over the room's entries, so that a client
//! can tell, with each heartbeat, whether its view still matches the room (`docs/protocol.md`,
//! "Views heal themselves"). The server keeps it incrementally (one XOR per change); the SDK
//! computes it over its view.
//!
//! Each entry contributes the 32-bit FNV-1a hash of `"<connId>\n<rev>"` (rev in decimal); the
//! room's digest is the XOR of its entries' (0 for an empty room). An entry's user and state are
//! fixed by its connection and rev, so they need not be hashed.

/// One entry's contribution to its room's digest.
pub fn entry(conn_id: &str, rev: u64) -> u32 {
    let mut hash = fnv1a(FNV_OFFSET, conn_id.as_bytes());
    hash = fnv1a(hash, b"\n");
    let mut digits = [0u8; 20];
    fnv1a(hash, decimal(rev, &mut digits))
}

/// The digest of a room holding `entries` (`(connId, rev)` pairs), in any order.
pub fn of<'a>(entries: impl IntoIterator<Item = (&'a str, u64)>) -> u32 {
    entries
        .into_iter()
        .fold(0, |digest, (conn, rev)| digest ^ entry(conn, rev))
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// `n` in decimal, written at the end of `buf` (no allocation, no formatting machinery: this is
/// in the WebAssembly).
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_hash_conn_and_rev_with_fnv1a() {
        // FNV-1a 32 of "a\n0" and of "x2f\n12", as any implementation computes them (the
        // presence Lua scripts included: `tests/tests/resume.rs` checks them against Redis).
        assert_eq!(entry("a", 0), 0x5ae5_15c6);
        assert_eq!(entry("x2f", 12), fnv1a(FNV_OFFSET, b"x2f\n12"));
        assert_eq!(
            entry("c", u64::MAX),
            fnv1a(FNV_OFFSET, b"c\n18446744073709551615")
        );
    }

    #[test]
    fn the_digest_is_the_xor_of_the_entries_in_any_order() {
        let one = of([("a", 0), ("b", 3)]);
        assert_eq!(one, of([("b", 3), ("a", 0)]));
        assert_eq!(one, entry("a", 0) ^ entry("b", 3));
        assert_eq!(of([]), 0);
        assert_ne!(one, of([("a", 0), ("b", 4)]));
    }
}
