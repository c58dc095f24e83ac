//! What nodes tell each other for the backend API, on two Redis channels: `rtm:srv` (to every
//! node) and `rtm:node:{nodeId}` (answers to the node that asked).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redis::keys::KEY_PREFIX;

/// The channel every node listens on for server-wide messages.
pub(crate) fn server_channel() -> String {
    format!("{KEY_PREFIX}srv")
}

/// The channel where `node` receives answers to its questions.
pub(crate) fn node_channel(node: &str) -> String {
    format!("{KEY_PREFIX}node:{node}")
}

/// A message on a control channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub(crate) enum Control {
    /// Emit to every connection of a user.
    EmitUser {
        user: String,
        event: String,
        data: Value,
    },
    /// Emit to every connection.
    Broadcast { event: String, data: Value },
    /// A question every node answers for its own connections.
    Ask {
        id: String,
        #[serde(rename = "replyTo")]
        reply_to: String,
        question: Question,
    },
    /// One node's answer to a question.
    Answer { id: String, answer: Answer },
}

/// What a node is asked about its own connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Question {
    /// The user's connections here.
    UserPresence { user: String },
    /// The rooms with a member here, after `after` in byte order, at most `limit`.
    Rooms { after: Option<String>, limit: usize },
    /// Disconnect the user's connections here.
    DisconnectUser { user: String },
}

/// One node's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Answer {
    /// The user's connections on the node.
    Connections { connections: Vec<Connection> },
    /// Rooms on the node, in byte order; `more` when it has more after the last one.
    Rooms { rooms: Vec<LocalRoom>, more: bool },
    /// How many connections the node closed.
    Disconnected { count: usize },
}

/// One connection of a user, as `GET /api/users/{userId}/presence` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// Its public connection id (the one presence snapshots show), if presence knows it.
    pub conn_id: Option<String>,
    /// The rooms it is joined to.
    pub rooms: Vec<String>,
}

/// A room as one node sees it: its members there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LocalRoom {
    pub(crate) room: String,
    pub(crate) connections: usize,
    pub(crate) users: Vec<String>,
}
