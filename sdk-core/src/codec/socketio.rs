//! Socket.IO v5 packets on the default namespace `/`, JSON payloads.
//!
//! Format: a type digit, then for binary packets `<n>-`, then for other namespaces `<nsp>,`, then
//! an optional ack id, then the JSON payload: `0{"token":"x"}`, `2["ev",{}]`, `21["ev",{}]`,
//! `31[{"ok":true}]`, `4{"message":"unauthorized"}`, `1`.

use serde_json::Value;

use crate::json;

/// A Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// `0`: connect to the namespace, with the auth payload (client) or `{sid}` (server).
    Connect(Option<Value>),
    /// `1`: disconnect from the namespace.
    Disconnect,
    /// `2`: an event: its name, its arguments, and the ack id it wants answered.
    Event {
        /// The event name.
        name: String,
        /// Its arguments (usually one).
        args: Vec<Value>,
        /// The ack id, when an answer is wanted.
        ack: Option<u64>,
    },
    /// `3`: the answer to an event sent with an ack id.
    Ack {
        /// The ack id answered.
        id: u64,
        /// The answer's arguments (usually one).
        args: Vec<Value>,
    },
    /// `4`: the server refused the connection.
    ConnectError(String),
    /// `5`/`6`: binary event or ack, which rtm does not use.
    Binary,
}

/// Why a packet could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl Packet {
    /// Decodes the payload of an Engine.IO message.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let bad = |what: &str| DecodeError(format!("{what}: {text}"));
        let mut rest = text;
        let kind = rest.chars().next().ok_or_else(|| bad("empty packet"))?;
        let kind_text = &rest[..1];
        rest = &rest[1..];
        if kind == '5' || kind == '6' {
            return Ok(Packet::Binary);
        }
        if rest.starts_with('/') {
            // A namespace other than "/": rtm only uses the default one.
            let comma = rest
                .find(',')
                .ok_or_else(|| bad("namespace without comma"))?;
            let nsp = &rest[..comma];
            if nsp != "/" {
                return Err(bad("packet for another namespace"));
            }
            rest = &rest[comma + 1..];
        }
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ack = if digits > 0 {
            Some(json::parse_u64(&rest[..digits]).ok_or_else(|| bad("ack id out of range"))?)
        } else {
            None
        };
        let json = &rest[digits..];
        let payload = || -> Result<Value, DecodeError> {
            json::parse(json).map_err(|_| DecodeError(format!("bad JSON: {text}")))
        };
        match kind {
            '0' => Ok(Packet::Connect(if json.is_empty() {
                None
            } else {
                Some(payload()?)
            })),
            '1' => Ok(Packet::Disconnect),
            '2' => {
                let Value::Array(mut items) = payload()? else {
                    return Err(bad("event payload is not an array"));
                };
                if items.is_empty() {
                    return Err(bad("event without a name"));
                }
                let Value::String(name) = items.remove(0) else {
                    return Err(bad("event name is not a string"));
                };
                Ok(Packet::Event {
                    name,
                    args: items,
                    ack,
                })
            }
            '3' => {
                let id = ack.ok_or_else(|| bad("ack without id"))?;
                let Value::Array(args) = payload()? else {
                    return Err(bad("ack payload is not an array"));
                };
                Ok(Packet::Ack { id, args })
            }
            '4' => {
                let value = payload()?;
                let message = value
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| json::to_string(&value));
                Ok(Packet::ConnectError(message))
            }
            // The type as text (a `str`: formatting a `char` is more WebAssembly).
            _ => Err(bad(&format!("unknown packet type {kind_text}"))),
        }
    }

    /// Encodes for an Engine.IO message.
    pub fn encode(&self) -> String {
        match self {
            Packet::Connect(None) => "0".into(),
            Packet::Connect(Some(auth)) => format!("0{}", json::to_string(auth)),
            Packet::Disconnect => "1".into(),
            Packet::Event { name, args, ack } => {
                let id = ack.map(|id| id.to_string()).unwrap_or_default();
                array_frame(&format!("2{id}"), Some(name), args)
            }
            Packet::Ack { id, args } => array_frame(&format!("3{id}"), None, args),
            Packet::ConnectError(message) => {
                format!(
                    "4{}",
                    json::to_string(&json::object([("message", message.as_str().into())]))
                )
            }
            Packet::Binary => unreachable!("rtm never sends binary packets"),
        }
    }
}

/// `head` then the JSON array of `first` (a string) and `args`, written in place (as
/// `json::to_string` writes that array, without copying the arguments into one).
fn array_frame(head: &str, first: Option<&str>, args: &[Value]) -> String {
    let mut frame = String::from(head);
    frame.push('[');
    if let Some(first) = first {
        json::write_string(first, &mut frame);
    }
    for (i, arg) in args.iter().enumerate() {
        if i > 0 || first.is_some() {
            frame.push(',');
        }
        json::write(arg, &mut frame);
    }
    frame.push(']');
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_frames_as_socketioxide_sends_them() {
        assert_eq!(
            Packet::decode(r#"0{"sid":"abc"}"#).unwrap(),
            Packet::Connect(Some(json!({"sid": "abc"})))
        );
        assert_eq!(
            Packet::decode(r#"2["presence:event",{"type":"join"}]"#).unwrap(),
            Packet::Event {
                name: "presence:event".into(),
                args: vec![json!({"type": "join"})],
                ack: None
            }
        );
        assert_eq!(
            Packet::decode(r#"317[{"ok":true,"changed":false,"epoch":3}]"#).unwrap(),
            Packet::Ack {
                id: 17,
                args: vec![json!({"ok": true, "changed": false, "epoch": 3})]
            }
        );
        assert_eq!(
            Packet::decode(r#"4{"message":"unauthorized: a token is required (auth.token)"}"#)
                .unwrap(),
            Packet::ConnectError("unauthorized: a token is required (auth.token)".into())
        );
        assert_eq!(Packet::decode("1").unwrap(), Packet::Disconnect);
        assert_eq!(
            Packet::decode(r#"51-["x",{"_placeholder":true,"num":0}]"#).unwrap(),
            Packet::Binary
        );
        assert_eq!(
            Packet::decode(r#"2/,5["e"]"#).unwrap(),
            Packet::Event {
                name: "e".into(),
                args: vec![],
                ack: Some(5)
            }
        );
    }

    #[test]
    fn rejects_malformed_packets() {
        for bad in [
            "",
            "2",
            "2{}",
            "2[]",
            "2[1]",
            "3[1]",
            "31{}",
            "7",
            "2/admin,[\"e\"]",
            "299999999999999999999[\"e\"]",
        ] {
            assert!(Packet::decode(bad).is_err(), "{bad:?} decoded");
        }
    }

    #[test]
    fn encodes_what_servers_expect() {
        assert_eq!(
            Packet::Connect(Some(json!({"token": "t"}))).encode(),
            r#"0{"token":"t"}"#
        );
        assert_eq!(Packet::Connect(None).encode(), "0");
        assert_eq!(
            Packet::Event {
                name: "presence:join".into(),
                args: vec![json!({"roomId": "r"})],
                ack: Some(0)
            }
            .encode(),
            r#"20["presence:join",{"roomId":"r"}]"#
        );
        assert_eq!(
            Packet::Event {
                name: "ping".into(),
                args: vec![],
                ack: None
            }
            .encode(),
            r#"2["ping"]"#
        );
        assert_eq!(
            Packet::Ack {
                id: 4,
                args: vec![json!(1)]
            }
            .encode(),
            "34[1]"
        );
        assert_eq!(Packet::Disconnect.encode(), "1");
    }

    /// Written in place, the arrays are what `json::to_string` writes for them.
    #[test]
    fn encodes_arguments_as_their_json_array() {
        let args = vec![
            json!({"a": [1, "b\"\n"], "z": null}),
            json!(-1.5),
            json!("\u{1}é"),
        ];
        for (name, args, ack) in [
            ("x", args.clone(), None),
            ("quote \" and \\", args.clone(), Some(7)),
            ("none", vec![], Some(0)),
        ] {
            let mut items = vec![Value::String(name.into())];
            items.extend(args.iter().cloned());
            let id = ack.map(|id| id.to_string()).unwrap_or_default();
            let expected = format!("2{id}{}", json::to_string(&Value::Array(items)));
            let name = name.into();
            assert_eq!(Packet::Event { name, args, ack }.encode(), expected);
        }
        for args in [vec![], vec![json!(1)], args] {
            let expected = format!("39{}", json::to_string(&Value::Array(args.clone())));
            assert_eq!(Packet::Ack { id: 9, args }.encode(), expected);
        }
    }

    #[test]
    fn round_trips() {
        let p = Packet::Event {
            name: "x".into(),
            args: vec![json!({"a": [1, "b"]}), json!(null)],
            ack: Some(42),
        };
        assert_eq!(Packet::decode(&p.encode()).unwrap(), p);
    }
}
