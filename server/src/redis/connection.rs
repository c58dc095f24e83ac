//! The Redis a server and its modules share, when one is configured: one Redis, or a Redis
//! Cluster (detected at start), behind one connection type.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ConnectionInfo, IntoConnectionInfo, Pipeline, ProtocolVersion, RedisFuture};
use tokio::sync::mpsc::UnboundedSender;

/// A shared, multiplexed, self-reconnecting connection for commands: to one Redis, or to a
/// cluster (each command goes to the node serving its keys, following `MOVED`/`ASK` and topology
/// changes). Clone it freely; commands from many tasks are pipelined.
#[derive(Clone)]
pub enum StoreConn {
    /// One Redis.
    Single(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for StoreConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// The Redis connection of a server, and how to open its subscriber.
#[derive(Clone)]
pub struct RedisConnection {
    /// The command connection.
    pub conn: StoreConn,
    /// Where to connect (the nodes given; a cluster is discovered from any of them).
    seeds: Arc<[ConnectionInfo]>,
}

/// When Redis goes away, requests should fail within a second or so (`unavailable`), not wait
/// through many reconnect attempts; the connections keep reconnecting on later requests.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

impl RedisConnection {
    /// Connects to `urls`: one Redis (`redis://127.0.0.1:6379`), or one or more nodes of a
    /// Redis Cluster, comma-separated. Whether it is a cluster is asked of the first node
    /// (`INFO cluster`); the answer is checked with a `PING`.
    pub async fn connect(urls: &str) -> Result<Self, redis::RedisError> {
        let seeds: Vec<ConnectionInfo> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(IntoConnectionInfo::into_connection_info)
            .collect::<Result<_, _>>()?;
        let Some(first) = seeds.first() else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "REDIS_URL names no node",
            )));
        };
        // A plain connection first: it fails at once when nothing listens, where the managers
        // would retry for a while.
        let client = redis::Client::open(first.clone())?;
        let mut probe = client.get_multiplexed_async_connection().await?;
        let info: String = redis::cmd("INFO")
            .arg("cluster")
            .query_async(&mut probe)
            .await?;
        let conn = if info.contains("cluster_enabled:1") {
            let client = ClusterClientBuilder::new(seeds.clone())
                .connection_timeout(CONNECT_TIMEOUT)
                .retries(2)
                .build()?;
            StoreConn::Cluster(client.get_async_connection().await?)
        } else {
            if seeds.len() > 1 {
                tracing::warn!(
                    "REDIS_URL names several nodes but it is not a cluster: using the first"
                );
            }
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500))
                .set_connection_timeout(Some(CONNECT_TIMEOUT));
            StoreConn::Single(client.get_connection_manager_with_config(config).await?)
        };
        let mut backend = Self {
            conn,
            seeds: seeds.into(),
        };
        redis::cmd("PING").exec_async(&mut backend.conn).await?;
        Ok(backend)
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, StoreConn::Cluster(_))
    }

    /// The command that publishes to a room's channel: `SPUBLISH` (sharded pub/sub, served by
    /// the room's shard only) in a cluster, `PUBLISH` on one Redis.
    pub fn publish_command(&self) -> &'static str {
        if self.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    /// A connection for subscriptions (RESP3), whose messages, confirmations and losses go to
    /// `push`. It resubscribes by itself after a reconnect.
    pub(crate) async fn subscriber(
        &self,
        push: UnboundedSender<redis::PushInfo>,
    ) -> Result<Subscriber, redis::RedisError> {
        let resp3: Vec<ConnectionInfo> = self
            .seeds
            .iter()
            .map(|info| {
                let settings = info
                    .redis_settings()
                    .clone()
                    .set_protocol(ProtocolVersion::RESP3);
                info.clone().set_redis_settings(settings)
            })
            .collect();
        if self.is_cluster() {
            let client = ClusterClientBuilder::new(resp3)
                .use_protocol(ProtocolVersion::RESP3)
                .connection_timeout(CONNECT_TIMEOUT)
                .push_sender(push)
                .build()?;
            Ok(Subscriber::Cluster(client.get_async_connection().await?))
        } else {
            let client = redis::Client::open(resp3[0].clone())?;
            // Reconnects back off exponentially with jitter (redis-rs's `with_jitter`), up to a
            // second apart: the nodes of a cluster do not all resubscribe in the same instant.
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_max_delay(Duration::from_millis(1000))
                .set_push_sender(push)
                .set_automatic_resubscription();
            Ok(Subscriber::Single(
                client.get_connection_manager_with_config(config).await?,
            ))
        }
    }
}

/// The subscriber connection: plain channels on any node, room channels sharded in a cluster.
pub(crate) enum Subscriber {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Subscriber {
    /// Subscribes to server-wide channels (plain pub/sub everywhere).
    pub(crate) async fn subscribe(&mut self, channels: &[String]) -> redis::RedisResult<()> {
        match self {
            Self::Single(conn) => conn.subscribe(channels).await,
            Self::Cluster(conn) => conn.subscribe(channels).await,
        }
    }

    /// Subscribes to room channels (all of one slot, in a cluster).
    pub(crate) async fn subscribe_rooms(&mut self, channels: &[String]) -> redis::RedisResult<()> {
        match self {
            Self::Single(conn) => conn.subscribe(channels).await,
            Self::Cluster(conn) => conn.ssubscribe(channels).await,
        }
    }

    /// Unsubscribes from room channels (all of one slot, in a cluster).
    pub(crate) async fn unsubscribe_rooms(
        &mut self,
        channels: &[String],
    ) -> redis::RedisResult<()> {
        match self {
            Self::Single(conn) => conn.unsubscribe(channels).await,
            Self::Cluster(conn) => conn.sunsubscribe(channels).await,
        }
    }
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("cluster", &self.is_cluster())
            .field("seeds", &self.seeds.len())
            .finish()
    }
}
