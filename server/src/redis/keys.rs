//! Every Redis key and channel rtm uses, in one place.
//!
//! A room's keys and its channel carry the hash tag of the room's *bucket* (one of
//! [`BUCKETS`], from a hash of the room id), so in a Redis Cluster everything one room operation
//! touches lives in one slot, and a bucket's expiry index sits beside its rooms. Buckets spread
//! rooms over up to 256 slots, and so over the cluster's masters; the reaper looks at 256 small
//! indexes, not at 16384 slots.

/// The prefix of every key and channel.
pub const KEY_PREFIX: &str = "rtm:";

/// How many buckets rooms are spread over.
pub const BUCKETS: u32 = 256;

/// The bucket of `room`: FNV-1a, stable across nodes and versions.
pub fn bucket(room: &str) -> u32 {
    let hash = room.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % BUCKETS
}

/// The hash tag of a bucket, `{b17}`.
fn tag(bucket: u32) -> String {
    format!("{{b{bucket}}}")
}

/// The pub/sub channel of `room`'s events (sharded in a cluster).
pub fn room_channel(room: &str) -> String {
    format!("{KEY_PREFIX}bus:{}:{room}", tag(bucket(room)))
}

/// The room whose channel is `channel`, if it is a room channel.
pub fn room_of_channel(channel: &str) -> Option<&str> {
    let rest = channel.strip_prefix(KEY_PREFIX)?.strip_prefix("bus:{b")?;
    let close = rest.find("}:")?;
    Some(&rest[close + 2..])
}

/// The keys of `room`'s presence: its connections (hash conn → the whole entry: epoch, rev,
/// state, user), their resume tokens (hash `conn\n` → token), its bucket's expiry index (zset
/// `room\nconn` → expiry ms), its bucket's epoch counter, its connections in byte order (zset,
/// all scored 0: the order of snapshot pages) and their snapshot entries as JSON (hash conn →
/// entry). `presence/lua/common.lua` has the details.
pub fn presence(room: &str) -> [String; 6] {
    let b = bucket(room);
    let t = tag(b);
    [
        format!("{KEY_PREFIX}p:{t}:m:{room}"),
        format!("{KEY_PREFIX}p:{t}:s:{room}"),
        presence_due(b),
        format!("{KEY_PREFIX}p:{t}:epoch"),
        format!("{KEY_PREFIX}p:{t}:i:{room}"),
        format!("{KEY_PREFIX}p:{t}:j:{room}"),
    ]
}

/// The expiry index of `bucket`.
pub fn presence_due(bucket: u32) -> String {
    format!("{KEY_PREFIX}p:{}:due", tag(bucket))
}

/// The keys of `room`'s storage: its entries (hash key → `<version> <value JSON>`) and its rev.
pub fn storage(room: &str) -> [String; 2] {
    let t = tag(bucket(room));
    [
        format!("{KEY_PREFIX}st:{t}:k:{room}"),
        format!("{KEY_PREFIX}st:{t}:r:{room}"),
    ]
}

/// `room`'s chat history (a list).
pub fn chat(room: &str) -> String {
    format!("{KEY_PREFIX}chat:{}:{room}", tag(bucket(room)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cluster's hash slot of a key (CRC16/XMODEM of its hash tag, as Redis computes it).
    fn slot(key: &str) -> u16 {
        let bytes = key.as_bytes();
        let tagged = key
            .find('{')
            .and_then(|open| {
                let close = key[open + 1..].find('}')? + open + 1;
                (close > open + 1).then(|| &bytes[open + 1..close])
            })
            .unwrap_or(bytes);
        let mut crc: u16 = 0;
        for &b in tagged {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc % 16384
    }

    #[test]
    fn a_rooms_keys_and_channel_share_one_slot_whatever_its_id() {
        for room in ["doc:42", "", "{x}", "a}b{c", "team-*", "ünïcode", "{b7}"] {
            let mut keys = presence(room).to_vec();
            keys.push(chat(room));
            keys.extend(storage(room));
            keys.push(room_channel(room));
            let first = slot(&keys[0]);
            assert!(keys.iter().all(|k| slot(k) == first), "{room}: {keys:?}");
        }
    }

    #[test]
    fn a_channel_names_its_room() {
        for room in ["doc:42", "", "}:x", "{b1}:y"] {
            assert_eq!(room_of_channel(&room_channel(room)), Some(room));
        }
        assert_eq!(room_of_channel("rtm:srv"), None);
    }

    #[test]
    fn rooms_spread_over_the_buckets() {
        let used: std::collections::HashSet<u32> =
            (0..10_000).map(|i| bucket(&format!("room-{i}"))).collect();
        assert_eq!(used.len(), BUCKETS as usize);
    }

    #[test]
    fn crc16_matches_redis() {
        // From the Redis Cluster specification: "123456789" hashes to 0x31C3.
        assert_eq!(slot("123456789"), 0x31C3);
    }
}
