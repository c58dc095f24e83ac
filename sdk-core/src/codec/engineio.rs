//! Engine.IO v4 over a WebSocket: one packet per text frame, the type a leading digit.

use crate::json;

/// The handshake the server sends first (`0{...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The Engine.IO session id.
    pub sid: String,
    /// How often the server pings, ms.
    pub ping_interval: u64,
    /// How long after a missed ping the server gives up, ms.
    pub ping_timeout: u64,
}

/// An Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the handshake.
    Open(Handshake),
    /// `1`: the session is closing.
    Close,
    /// `2`: a ping (the server pings in v4), maybe with a probe payload.
    Ping(String),
    /// `3`: a pong.
    Pong(String),
    /// `4`: a message: a Socket.IO packet.
    Message(String),
    /// `6`: no-op.
    Noop,
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl Packet {
    /// Decodes one text frame.
    pub fn decode(frame: &str) -> Result<Self, DecodeError> {
        let mut chars = frame.chars();
        let kind = chars
            .next()
            .ok_or_else(|| DecodeError("empty frame".into()))?;
        let rest = chars.as_str();
        match kind {
            '0' => json::parse(rest)
                .ok()
                .and_then(|v| {
                    Some(Handshake {
                        sid: json::string(&v, "sid")?,
                        ping_interval: json::uint(&v, "pingInterval")?,
                        ping_timeout: json::uint(&v, "pingTimeout")?,
                    })
                })
                .map(Packet::Open)
                .ok_or_else(|| DecodeError("bad handshake".into())),
            '1' => Ok(Packet::Close),
            '2' => Ok(Packet::Ping(rest.to_string())),
            '3' => Ok(Packet::Pong(rest.to_string())),
            '4' => Ok(Packet::Message(rest.to_string())),
            '6' => Ok(Packet::Noop),
            // The type as text (a `str`: formatting a `char` is more WebAssembly).
            _ => Err(DecodeError(format!(
                "unknown engine.io packet type {}",
                &frame[..frame.len() - rest.len()]
            ))),
        }
    }

    /// Encodes as one text frame.
    pub fn encode(&self) -> String {
        match self {
            Packet::Open(_) => unreachable!("only servers send the handshake"),
            Packet::Close => "1".into(),
            Packet::Ping(p) => format!("2{p}"),
            Packet::Pong(p) => format!("3{p}"),
            Packet::Message(m) => format!("4{m}"),
            Packet::Noop => "6".into(),
        }
    }
}

/// The WebSocket URL of an Engine.IO v4 endpoint for `base_url` (`http(s)://host[:port][/path]`
/// or `ws(s)://...`); the Socket.IO path `/socket.io/` is appended.
pub fn websocket_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}/socket.io/?EIO=4&transport=websocket")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_real_socketioxide_handshake() {
        let frame = r#"0{"sid":"kx3hR5bZ5Y0AAAAB","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100000}"#;
        assert_eq!(
            Packet::decode(frame).unwrap(),
            Packet::Open(Handshake {
                sid: "kx3hR5bZ5Y0AAAAB".into(),
                ping_interval: 25000,
                ping_timeout: 20000
            })
        );
    }

    #[test]
    fn round_trips_the_small_packets() {
        assert_eq!(Packet::decode("2").unwrap(), Packet::Ping(String::new()));
        assert_eq!(Packet::Pong(String::new()).encode(), "3");
        assert_eq!(
            Packet::decode(r#"42["a",1]"#).unwrap(),
            Packet::Message(r#"2["a",1]"#.into())
        );
        assert_eq!(Packet::Message("0".into()).encode(), "40");
        assert_eq!(Packet::decode("1").unwrap(), Packet::Close);
        assert!(Packet::decode("").is_err());
        assert!(Packet::decode("9").is_err());
        assert!(Packet::decode("0{not json").is_err());
    }

    #[test]
    fn builds_websocket_urls() {
        assert_eq!(
            websocket_url("http://localhost:3000"),
            "ws://localhost:3000/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            websocket_url("https://a.b/"),
            "wss://a.b/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            websocket_url("ws://h:1"),
            "ws://h:1/socket.io/?EIO=4&transport=websocket"
        );
    }
}
