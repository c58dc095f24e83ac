//! JSON text in and out of [`serde_json::Value`], without serde's (de)serializer machinery.
//!
//! The crate under the SDKs' wire: `rtm-protocol` reads and writes its payloads with these
//! helpers, `rtm-sdk-core` its Socket.IO and Engine.IO frames, and the browser SDK the values an
//! app hands it. `serde_json::Value` stays the SDKs' JSON type, so Rust apps get the type they
//! know. Only the conversion to and from text is rtm's own: serde's generic deserializer and serializer are a
//! third of the browser SDK's WebAssembly, and rtm needs neither (its wire types are read and
//! written field by field). The reader and writer are cross-checked against serde_json in tests.

mod fields;
mod float;
mod parse;
mod write;

pub use fields::{flag, object_or_empty, optional, string, uint};
pub use parse::{ParseError, parse};
pub use write::{to_string, write, write_string};

use serde_json::{Map, Value};

/// `text` as a `u64`, as `str::parse` reads it. One function for the JSON reader and the Socket.IO
/// decoder (ack ids): each crate would otherwise inline its own copy of `parse::<u64>` (a few
/// hundred bytes of WebAssembly each).
#[inline(never)]
pub fn parse_u64(text: &str) -> Option<u64> {
    text.parse().ok()
}

/// An object from its fields: `object([("roomId", room.into())])`.
pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    object_of(Vec::from(fields))
}

/// `object` with its optional field `key`, when there is a `value`.
pub fn with_field(mut object: Value, key: &str, value: Option<Value>) -> Value {
    if let (Some(value), Value::Object(map)) = (value, &mut object) {
        map.insert(key.to_string(), value);
    }
    object
}

/// Inserts one by one: one copy of this code whatever `N`, where `collect` would make a
/// sorting `BTreeMap::from_iter` per array length (a few KiB of WebAssembly each).
fn object_of(fields: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    for (key, value) in fields {
        map.insert(key.to_string(), value);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u64_reads_as_str_parse_does() {
        for text in [
            "",
            "0",
            "7",
            "+7",
            "+",
            "-",
            "-0",
            "-7",
            "007",
            "1a",
            " 1",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
        ] {
            assert_eq!(parse_u64(text), text.parse().ok(), "{text:?}");
        }
    }
}
