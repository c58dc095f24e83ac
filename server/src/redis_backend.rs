//! The Redis connection a server and its modules share, when one is configured.

use std::time::Duration;

use redis::aio::ConnectionManager;

/// A Redis client and a multiplexed, self-reconnecting connection to it.
#[derive(Clone)]
pub struct RedisBackend {
    /// The client, for connections of one's own (pub/sub, blocking commands).
    pub client: redis::Client,
    /// A shared multiplexed connection: clone it freely, commands from many tasks are pipelined.
    pub conn: ConnectionManager,
}

impl RedisBackend {
    /// Connects to `url` (for example `redis://127.0.0.1:6379`) and checks the server answers.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        // A plain connection first: it fails at once when nothing listens, where the manager
        // would retry for a while.
        let mut probe = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").exec_async(&mut probe).await?;
        // When Redis goes away, requests should fail within a second (`unavailable`), not wait
        // through the manager's default six reconnect attempts (over 6 s); it keeps
        // reconnecting on later requests.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(1)));
        let mut conn = client.get_connection_manager_with_config(config).await?;
        redis::cmd("PING").exec_async(&mut conn).await?;
        Ok(Self { client, conn })
    }
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("addr", &self.client.get_connection_info().addr())
            .finish()
    }
}
