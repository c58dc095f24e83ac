//! The connection layer under Socket.IO and HTTP: the listener, request heads, client addresses,
//! how a socket went, draining a node, and the signals that stop it. Imports nothing of the
//! server.

pub mod client_ip;
pub mod departure;
pub mod drain;
pub mod listen;
pub mod request_head;
pub mod signal;
