//! A connection's entry as the Redis store keeps it (one meta field, see
//! `presence/lua/common.lua`), read into a snapshot entry. Pages hand the server the stored
//! texts: Redis reads them and builds nothing, and no second copy of each entry as JSON has to be
//! kept up to date on every heartbeat.
//!
//! The text: `=<epoch>\n<rev>\n<n>\n<field 1>\n<value 1>\n…<field n>\n<value n>\n<user>`, field
//! names and values as JSON (so without a raw newline), the user last (so anything).

use serde_json::{Map, Value};

use super::store::{PresenceEntry, StoreError};

/// A page as the scripts answer it: the room's count, the cursor (`""` when none), and each
/// entry's connection, meta text and expiry (ms).
pub(super) type RawPage = (u64, String, Vec<String>, Vec<String>, Vec<String>);

/// The entry of `conn` from its meta `text`, last seen at `last_seen_ms`.
pub(super) fn entry(
    conn: &str,
    text: &str,
    last_seen_ms: u64,
) -> Result<PresenceEntry, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("presence meta of {conn:?}: {text:?}"));
    let mut rest = text.strip_prefix('=').ok_or_else(corrupt)?;
    let mut line = || -> Result<&str, StoreError> {
        let (head, tail) = rest.split_once('\n').ok_or_else(corrupt)?;
        rest = tail;
        Ok(head)
    };
    let epoch = line()?.parse().map_err(|_| corrupt())?;
    let rev = line()?.parse().map_err(|_| corrupt())?;
    let fields: usize = line()?.parse().map_err(|_| corrupt())?;
    let mut state = Map::new();
    for _ in 0..fields {
        let name: String = serde_json::from_str(line()?).map_err(|_| corrupt())?;
        let value: Value = serde_json::from_str(line()?).map_err(|_| corrupt())?;
        state.insert(name, value);
    }
    Ok(PresenceEntry {
        conn_id: conn.to_string(),
        user_id: rest.to_string(),
        state,
        last_seen_ms,
        epoch,
        rev: Some(rev),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_entry_reads_back_with_its_state_in_order_and_any_user() {
        let text =
            "=17\n3\n2\n\"b\"\n{\"x\":[1,2]}\n\"a\\nz\"\n9007199254740993\nuser\nwith newline";
        let read = entry("c1", text, 1000).unwrap();
        assert_eq!(read.conn_id, "c1");
        assert_eq!(read.user_id, "user\nwith newline");
        assert_eq!(
            (read.epoch, read.rev, read.last_seen_ms),
            (17, Some(3), 1000)
        );
        assert_eq!(
            Value::Object(read.state.clone()),
            json!({"b": {"x": [1, 2]}, "a\nz": 9007199254740993u64})
        );
        let empty = entry("c2", "=1\n0\n0\n", 5).unwrap();
        assert!(empty.state.is_empty());
        assert_eq!(empty.user_id, "");
    }

    #[test]
    fn a_text_it_did_not_write_is_corrupt() {
        for text in [
            "",
            "17\n0\n0\nu",
            "=x\n0\n0\nu",
            "=1\n0\n2\n\"a\"\n1\nu",
            "=1\n0\n1\nnot json\n1\nu",
        ] {
            assert!(
                matches!(entry("c", text, 0), Err(StoreError::Corrupt(_))),
                "{text:?}"
            );
        }
    }
}
