//! The wire codecs: Engine.IO v4 packets inside WebSocket text frames, Socket.IO v5 packets inside
//! Engine.IO messages. Text (JSON) only: rtm never sends binary, and binary packets from a server
//! are reported as unsupported rather than misread.

pub mod engineio;
pub mod socketio;
