//! The frames a large-room member reads, decoded straight from their text into small borrowed
//! structs (connection ids, epochs, revs and the bench's `n`; states are skipped), never into a
//! `serde_json::Value` tree: a member of a 1,000-member room reads a million presence entries.

use std::borrow::Cow;

use rtm_protocol::events;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// One frame, as far as the generator cares.
#[derive(Debug)]
pub(super) enum Incoming<'a> {
    /// An Engine.IO ping, with its payload (answered with a pong).
    Ping(&'a str),
    /// The answer to request `id`.
    Ack {
        /// The ack id.
        id: u64,
        /// The answer.
        answer: Answer<'a>,
    },
    /// Presence events, in order: one `presence:event`, or a `presence:events` batch.
    Events(Vec<Event<'a>>),
    /// A `presence:sync`: the room's snapshot (first page) to replace the view with.
    Sync(Answer<'a>),
    /// A `presence:count`.
    Count(u64),
    /// A Socket.IO DISCONNECT or an Engine.IO close.
    Disconnect,
    /// Anything else (ignored).
    Other,
}

/// An ack's payload (join, members, heartbeat and leave answers share it), or a sync's.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Answer<'a> {
    /// `true` on success.
    #[serde(default)]
    pub ok: bool,
    /// The error code of a refusal.
    #[serde(default, borrow)]
    pub code: Option<Cow<'a, str>>,
    /// A page of the room (join, members, sync, healing heartbeat).
    #[serde(default, borrow)]
    pub snapshot: Option<Vec<Entry<'a>>>,
    /// Where the next page starts; `None` on the last.
    #[serde(default)]
    pub cursor: Option<String>,
    /// A join's own identity.
    #[serde(default, rename = "self")]
    pub me: Option<Me>,
    /// A heartbeat's: whether the patch changed the state.
    #[serde(default)]
    pub changed: Option<bool>,
}

/// One snapshot entry: who, and at which `(epoch, rev)`.
#[derive(Debug, Deserialize)]
pub(super) struct Entry<'a> {
    /// The connection.
    #[serde(rename = "connId", borrow)]
    pub conn_id: Cow<'a, str>,
    /// Its join's epoch.
    pub epoch: u64,
    /// Its state changes since.
    #[serde(default)]
    pub rev: u64,
}

/// A join answer's `self`.
#[derive(Debug, Deserialize)]
pub(super) struct Me {
    /// The joiner's connection id.
    #[serde(rename = "connId")]
    pub conn_id: String,
    /// Its epoch, for heartbeats.
    pub epoch: u64,
}

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Kind {
    /// It joined.
    Join,
    /// Its state changed.
    Update,
    /// It left.
    Leave,
}

/// One presence event.
#[derive(Debug, Deserialize)]
pub(super) struct Event<'a> {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The connection.
    #[serde(rename = "connId", borrow)]
    pub conn_id: Cow<'a, str>,
    /// Its join's epoch.
    pub epoch: u64,
    /// Its state changes since.
    #[serde(default)]
    pub rev: u64,
    /// Its state after the change (`null` on leave): only the bench's `n` is read.
    #[serde(default)]
    pub state: Option<Numbered>,
}

/// The part of a state the update phase writes: `{n: k}`.
#[derive(Debug, Deserialize)]
pub(super) struct Numbered {
    /// The update's number, when the state has one.
    #[serde(default)]
    pub n: Option<u64>,
}

impl Event<'_> {
    /// The update phase's number, on an update that carries one.
    pub fn n(&self) -> Option<u64> {
        (self.kind == Kind::Update)
            .then(|| self.state.as_ref()?.n)
            .flatten()
    }
}

#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(borrow)]
    events: Vec<Event<'a>>,
}

#[derive(Deserialize)]
struct Count {
    count: u64,
}

/// Why a frame could not be read.
#[derive(Debug)]
pub(super) struct Malformed;

/// Reads one WebSocket text frame (an Engine.IO packet).
pub(super) fn parse(frame: &str) -> Result<Incoming<'_>, Malformed> {
    match frame.as_bytes().first() {
        Some(b'2') => Ok(Incoming::Ping(&frame[1..])),
        Some(b'1') => Ok(Incoming::Disconnect),
        Some(b'4') => parse_socketio(&frame[1..]),
        _ => Ok(Incoming::Other),
    }
}

/// Reads a Socket.IO packet of the default namespace.
fn parse_socketio(packet: &str) -> Result<Incoming<'_>, Malformed> {
    match packet.as_bytes().first() {
        Some(b'1') => Ok(Incoming::Disconnect),
        Some(b'2') => parse_event(&packet[1..]),
        Some(b'3') => parse_ack(&packet[1..]),
        _ => Ok(Incoming::Other),
    }
}

/// Reads `<id>[answer]`.
fn parse_ack(text: &str) -> Result<Incoming<'_>, Malformed> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).ok_or(Malformed)?;
    let id = text[..digits].parse().map_err(|_| Malformed)?;
    let (answer,): (Answer,) = serde_json::from_str(&text[digits..]).map_err(|_| Malformed)?;
    Ok(Incoming::Ack { id, answer })
}

/// Reads `["name",payload]` for the presence events a member handles.
fn parse_event(text: &str) -> Result<Incoming<'_>, Malformed> {
    let name = text
        .strip_prefix("[\"")
        .and_then(|rest| rest.split('"').next())
        .ok_or(Malformed)?;
    fn payload<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, Malformed> {
        let (_, payload): (IgnoredAny, T) = serde_json::from_str(text).map_err(|_| Malformed)?;
        Ok(payload)
    }
    Ok(match name {
        events::PRESENCE_EVENT => Incoming::Events(vec![payload(text)?]),
        events::PRESENCE_EVENTS => Incoming::Events(payload::<Batch>(text)?.events),
        events::PRESENCE_SYNC => Incoming::Sync(payload(text)?),
        events::PRESENCE_COUNT => Incoming::Count(payload::<Count>(text)?.count),
        _ => Incoming::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_join_answer_with_its_page() {
        let frame = r#"431[{"ok":true,"snapshot":[{"connId":"a","userId":"u","state":{"x":[1]},"lastSeenMs":5,"epoch":7,"rev":2}],"total":3,"cursor":"a","self":{"connId":"a","epoch":7,"resumeToken":"t","resumed":false}}]"#;
        let Ok(Incoming::Ack { id, answer }) = parse(frame) else {
            panic!("an ack");
        };
        assert_eq!(id, 1);
        assert!(answer.ok);
        let page = answer.snapshot.unwrap();
        assert_eq!(
            (page[0].conn_id.as_ref(), page[0].epoch, page[0].rev),
            ("a", 7, 2)
        );
        assert_eq!(answer.cursor.as_deref(), Some("a"));
        assert_eq!(answer.me.unwrap().epoch, 7);
    }

    #[test]
    fn reads_a_refusal_and_a_heartbeat_answer() {
        let Ok(Incoming::Ack { id, answer }) =
            parse(r#"4312[{"ok":false,"error":"x","code":"stale_epoch"}]"#)
        else {
            panic!("an ack");
        };
        assert_eq!(
            (id, answer.ok, answer.code.as_deref()),
            (12, false, Some("stale_epoch"))
        );
        let Ok(Incoming::Ack { answer, .. }) =
            parse(r#"430[{"ok":true,"changed":true,"epoch":3}]"#)
        else {
            panic!("an ack");
        };
        assert_eq!(answer.changed, Some(true));
    }

    #[test]
    fn reads_events_batched_or_not() {
        let one = r#"42["presence:event",{"type":"update","roomId":"r","userId":"u","connId":"c","state":{"n":4,"s":"]"},"ts":1,"epoch":9,"rev":4}]"#;
        let Ok(Incoming::Events(events)) = parse(one) else {
            panic!("events");
        };
        assert_eq!(
            (events[0].kind, events[0].n(), events[0].rev),
            (Kind::Update, Some(4), 4)
        );
        let batch = r#"42["presence:events",{"roomId":"r","events":[{"type":"join","roomId":"r","userId":"u","connId":"c","state":{},"ts":1,"epoch":9,"rev":0},{"type":"leave","roomId":"r","userId":"u","connId":"c","state":null,"ts":2,"epoch":9,"rev":0}]}]"#;
        let Ok(Incoming::Events(events)) = parse(batch) else {
            panic!("events");
        };
        assert_eq!(
            events.iter().map(|e| e.kind).collect::<Vec<_>>(),
            [Kind::Join, Kind::Leave]
        );
        assert_eq!(events[1].n(), None);
    }

    #[test]
    fn reads_counts_syncs_and_the_small_packets() {
        assert!(matches!(
            parse(r#"42["presence:count",{"roomId":"r","count":10011}]"#),
            Ok(Incoming::Count(10011))
        ));
        let sync = r#"42["presence:sync",{"roomId":"r","snapshot":[],"total":0,"cursor":null}]"#;
        assert!(
            matches!(parse(sync), Ok(Incoming::Sync(page)) if page.snapshot.as_ref().is_some_and(Vec::is_empty))
        );
        assert!(matches!(parse("2"), Ok(Incoming::Ping(""))));
        assert!(matches!(parse("41"), Ok(Incoming::Disconnect)));
        assert!(matches!(
            parse(r#"42["chat:message",{}]"#),
            Ok(Incoming::Other)
        ));
        assert!(parse(r#"42["presence:count",{"roomId":"r"}]"#).is_err());
    }
}
