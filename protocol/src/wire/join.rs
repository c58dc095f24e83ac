//! `presence:join`: the request, and its answer (the snapshot and the joiner's own identity).

use rtm_json as json;
use serde_json::{Map, Value};

use super::entry::{PresenceEntry, State, snapshot_from_json, snapshot_json};
use crate::fields;

/// The `presence:join` request: `{roomId, userId, state?, resume?}`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct JoinPayload {
    /// The room to join.
    pub room_id: String,
    /// The user to join as.
    pub user_id: String,
    /// The connection's state (an empty object when absent).
    pub state: State,
    /// The earlier entry of this room to take over, unseen by the others.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub resume: Option<Resume>,
    /// What the joiner receives of the room's presence (`"events"` when absent).
    #[cfg_attr(feature = "serde", serde(default))]
    pub presence: PresenceLevel,
    /// Whether the joiner takes the room's events batched (`presence:events`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub batch: bool,
}

/// What a member receives of its room's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum PresenceLevel {
    /// The snapshot and every join, update and leave (the default).
    #[default]
    Events,
    /// Only the room's count (`presence:count`): for audiences of thousands.
    Count,
}

impl PresenceLevel {
    /// The protocol's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            PresenceLevel::Events => "events",
            PresenceLevel::Count => "count",
        }
    }

    /// The level the protocol names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "events" => Some(Self::Events),
            "count" => Some(Self::Count),
            _ => None,
        }
    }
}

/// A join's `resume`: the entry to take over and the secret its join was given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct Resume {
    /// The entry's connection id.
    pub conn_id: String,
    /// Its resume token (from the join's `self`).
    pub resume_token: String,
}

/// The joiner's own identity in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct SelfInfo {
    /// Its connection id.
    pub conn_id: String,
    /// Its epoch: sent with each heartbeat.
    pub epoch: u64,
    /// The secret that resumes this entry from a later connection (the client sends it back by
    /// itself on every rejoin; never shown to other members). `None` from servers without
    /// resume (the TypeScript server).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub resume_token: Option<String>,
    /// Whether this join took over the client's earlier entry (`false` from servers without
    /// resume).
    #[cfg_attr(feature = "serde", serde(default))]
    pub resumed: bool,
}

/// The answer to `presence:join` (after `ok: true`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JoinResponse {
    /// The room's connections in `connId` order, the joiner included: all of them, or the first
    /// page when `cursor` is set (empty for a `"count"` member).
    pub snapshot: Vec<PresenceEntry>,
    /// How many connections the room has (`None` from servers without paging).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub total: Option<u64>,
    /// Where `presence:members` goes on; `None` when the snapshot is complete.
    #[cfg_attr(feature = "serde", serde(default))]
    pub cursor: Option<String>,
    /// The joiner.
    #[cfg_attr(feature = "serde", serde(rename = "self"))]
    pub self_info: SelfInfo,
}

impl JoinPayload {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// As the protocol's JSON object, moving its fields there (what a client that builds the
    /// request to send it does: no copy of its state).
    #[inline]
    pub fn into_json(self) -> Value {
        let mut map = Map::new();
        map.insert(fields::ROOM_ID.into(), self.room_id.into());
        map.insert(fields::USER_ID.into(), self.user_id.into());
        map.insert(fields::STATE.into(), Value::Object(self.state));
        if let Some(resume) = self.resume {
            map.insert(fields::RESUME.into(), resume.into_json());
        }
        if self.presence != PresenceLevel::Events {
            map.insert(fields::PRESENCE.into(), self.presence.as_str().into());
        }
        if self.batch {
            map.insert(fields::BATCH.into(), true.into());
        }
        Value::Object(map)
    }
}

impl Resume {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// As the protocol's JSON object, moving its fields there.
    #[inline]
    pub fn into_json(self) -> Value {
        json::object([
            (fields::CONN_ID, self.conn_id.into()),
            (fields::RESUME_TOKEN, self.resume_token.into()),
        ])
    }
}

impl SelfInfo {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        let object = json::object([
            (fields::CONN_ID, self.conn_id.clone().into()),
            (fields::EPOCH, self.epoch.into()),
            (fields::RESUMED, self.resumed.into()),
        ]);
        let token = self.resume_token.clone().map(Value::from);
        json::with_field(object, fields::RESUME_TOKEN, token)
    }

    /// Reads a join answer's `self`.
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            conn_id: json::string(v, fields::CONN_ID)?,
            epoch: json::uint(v, fields::EPOCH)?,
            resume_token: json::string(v, fields::RESUME_TOKEN),
            resumed: json::flag(v, fields::RESUMED),
        })
    }

    /// What a later join sends to take this entry over, when this join gave a token.
    #[inline]
    pub fn resume(&self) -> Option<Resume> {
        let resume_token = self.resume_token.clone()?;
        Some(Resume {
            conn_id: self.conn_id.clone(),
            resume_token,
        })
    }
}

impl JoinResponse {
    /// As the protocol's JSON object.
    pub fn to_json(&self) -> Value {
        let object = json::object([
            (fields::SNAPSHOT, snapshot_json(&self.snapshot)),
            (fields::SELF, self.self_info.to_json()),
            (
                fields::CURSOR,
                self.cursor.clone().map_or(Value::Null, Value::from),
            ),
        ]);
        json::with_field(object, fields::TOTAL, self.total.map(Value::from))
    }

    /// Reads a join ack.
    #[inline]
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            snapshot: snapshot_from_json(v.get(fields::SNAPSHOT)?)?,
            total: json::uint(v, fields::TOTAL),
            cursor: json::string(v, fields::CURSOR),
            self_info: SelfInfo::from_json(v.get(fields::SELF)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn self_reads_the_resume_fields_and_writes_them_back() {
        let rtm = json!({"connId": "c1", "epoch": 7, "resumeToken": "t1", "resumed": true});
        let me = SelfInfo::from_json(&rtm).unwrap();
        assert_eq!((me.resume_token.as_deref(), me.resumed), (Some("t1"), true));
        assert_eq!(me.to_json(), rtm);
        assert_eq!(
            me.resume().map(|resume| resume.to_json()),
            Some(json!({"connId": "c1", "resumeToken": "t1"}))
        );
        // The TypeScript server's: nothing to resume with.
        let typescript = SelfInfo::from_json(&json!({"connId": "c1", "epoch": 7})).unwrap();
        assert_eq!(
            (&typescript.resume_token, typescript.resumed),
            (&None, false)
        );
        assert_eq!(
            SelfInfo::from_json(&typescript.to_json()).unwrap().resume(),
            None
        );
    }

    #[test]
    fn a_join_writes_resume_only_when_it_has_one() {
        let mut join = JoinPayload {
            room_id: "r".into(),
            user_id: "u".into(),
            state: State::new(),
            resume: None,
            presence: PresenceLevel::Events,
            batch: false,
        };
        assert_eq!(
            join.to_json(),
            json!({"roomId": "r", "userId": "u", "state": {}})
        );
        join.resume = Some(Resume {
            conn_id: "c1".into(),
            resume_token: "t1".into(),
        });
        assert_eq!(
            join.to_json()["resume"],
            json!({"connId": "c1", "resumeToken": "t1"})
        );
        join.presence = PresenceLevel::Count;
        join.batch = true;
        let written = join.to_json();
        assert_eq!(
            (&written["presence"], &written["batch"]),
            (&json!("count"), &json!(true))
        );
    }

    #[test]
    fn a_join_answer_reads_its_page() {
        let entry = json!({"connId": "c1", "userId": "u", "state": {}, "lastSeenMs": 5, "epoch": 7, "rev": 0});
        let me = json!({"connId": "c1", "epoch": 7, "resumed": false});
        let paged = json!({"snapshot": [entry], "total": 3, "cursor": "c1", "self": me});
        let read = JoinResponse::from_json(&paged).unwrap();
        assert_eq!((read.total, read.cursor.as_deref()), (Some(3), Some("c1")));
        assert_eq!(read.to_json(), paged);
        // The TypeScript server's: no total, no cursor (complete).
        let plain = JoinResponse::from_json(&json!({"snapshot": [], "self": me})).unwrap();
        assert_eq!((plain.total, plain.cursor), (None, None));
    }
}
