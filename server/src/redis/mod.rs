//! Redis, when the server runs on it: the connection (one Redis or a Cluster) and every key and
//! channel rtm uses. Imports nothing of the server.

mod connection;
pub mod keys;

pub(crate) use connection::Subscriber;
pub use connection::{RedisConnection, StoreConn};
