//! Server configuration, from flags or the environment (`rtm-server --help` lists each).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::auth::JwtVerifier;
use crate::module::rate_limit::RateLimit;
use crate::module::validate::Limits;

/// How an rtm server runs. Every field has a flag and an environment variable; the names of the
/// TypeScript server's variables (`PORT`, `REDIS_URL`, `PRESENCE_TTL_MS`, ...) are kept.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "rtm-server",
    version,
    about = "The rtm realtime server: Socket.IO rooms with presence and chat."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,

    /// Redis URL (for example redis://127.0.0.1:6379). Unset: the in-memory store (one node).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// A presence connection that sends no heartbeat for this long is removed and announced as left.
    #[arg(long, env = "PRESENCE_TTL_MS", default_value_t = 30_000)]
    pub presence_ttl_ms: u64,

    /// How often expired presence connections are looked for.
    #[arg(long, env = "PRESENCE_REAPER_INTERVAL_MS", default_value_t = 3_000)]
    pub presence_reaper_interval_ms: u64,

    /// How long a lost connection's presence is kept (ms) for its client to reconnect and resume
    /// it unseen; 0 announces its leave at once. Explicit leaves are always announced at once.
    #[arg(long, env = "RTM_PRESENCE_GRACE_MS", default_value_t = 5_000)]
    pub presence_grace_ms: u64,

    /// The most entries one page of a room's snapshot lists (a join's answer, a heartbeat's,
    /// `presence:members`'); the rest is read page by page.
    #[arg(long, env = "RTM_PRESENCE_SNAPSHOT_PAGE", default_value_t = 1_000)]
    pub presence_snapshot_page: usize,

    /// A `batch: true` member's window (ms): the room's presence events of a window go out as
    /// one `presence:events` frame. 0 sends every event at once.
    #[arg(long, env = "RTM_PRESENCE_BATCH_MS", default_value_t = 50)]
    pub presence_batch_ms: u64,

    /// On Redis, how long (ms) a heartbeat waits for others to share its script call: one call
    /// per tick carries them all (one per bucket in a cluster). 0 sends at once (those already
    /// queued still share a call).
    #[arg(long, env = "RTM_REDIS_HEARTBEAT_TICK_MS", default_value_t = 2)]
    pub redis_heartbeat_tick_ms: u64,

    /// The least time (ms) between two `presence:count`s to a room's `"count"` members.
    #[arg(long, env = "RTM_PRESENCE_COUNT_INTERVAL_MS", default_value_t = 1_000)]
    pub presence_count_interval_ms: u64,

    /// On SIGTERM/SIGINT, how long (ms) the node waits for its clients to move to other nodes
    /// before it closes the rest and exits.
    #[arg(long, env = "RTM_SHUTDOWN_TIMEOUT_MS", default_value_t = 10_000)]
    pub shutdown_timeout_ms: u64,

    /// Allowed CORS origin for HTTP and Socket.IO polling ("*" for any).
    #[arg(long, env = "CORS_ORIGIN", default_value = "*")]
    pub cors_origin: String,

    /// Directory of static files to serve at / (the demo page).
    #[arg(long, env = "STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// HS256 secret: when set, sockets must present a JWT in the handshake `auth.token` and may only
    /// join as its `sub`; the REST API wants `Authorization: Bearer <jwt>`.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Sustained presence and chat requests per second allowed per connection.
    #[arg(long, env = "RATE_LIMIT_PER_SEC", default_value_t = 50.0)]
    pub rate_limit_per_sec: f64,

    /// Burst of presence and chat requests allowed per connection.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 100.0)]
    pub rate_limit_burst: f64,

    /// Chat messages kept per room.
    #[arg(long, env = "CHAT_MAX_HISTORY", default_value_t = 100)]
    pub chat_max_history: usize,

    /// A room's chat history is forgotten this long after its last message, in seconds.
    #[arg(long, env = "CHAT_HISTORY_TTL_S", default_value_t = 7 * 24 * 3600)]
    pub chat_history_ttl_s: u64,

    /// A room's storage is forgotten this long after its last write, in seconds.
    #[arg(long, env = "RTM_STORAGE_TTL_S", default_value_t = 7 * 24 * 3600)]
    pub storage_ttl_s: u64,

    /// Longest roomId / userId, in bytes.
    #[arg(long, env = "MAX_ID_BYTES", default_value_t = 256)]
    pub max_id_bytes: usize,

    /// Largest presence state or patch, in bytes of serialized JSON.
    #[arg(long, env = "MAX_STATE_BYTES", default_value_t = 8192)]
    pub max_state_bytes: usize,

    /// Longest chat message, in bytes.
    #[arg(long, env = "MAX_MESSAGE_BYTES", default_value_t = 4096)]
    pub max_message_bytes: usize,

    /// The most rooms one connection may be joined to at once (`limit_exceeded` beyond).
    #[arg(long, env = "MAX_ROOMS_PER_CONNECTION", default_value_t = 100)]
    pub max_rooms_per_connection: usize,

    /// Largest incoming WebSocket message and long-polling payload, in bytes (Socket.IO's
    /// `maxHttpBufferSize`): a larger one closes the connection before it is parsed.
    #[arg(long, env = "MAX_MESSAGE_SIZE_BYTES", default_value_t = 1 << 20)]
    pub max_message_size_bytes: usize,

    /// Packets buffered per connection on their way out. A connection whose buffer stays full
    /// is a slow consumer: it is disconnected (its SDK rejoins and gets a fresh snapshot) rather
    /// than silently missing events.
    #[arg(long, env = "SOCKET_BUFFER_PACKETS", default_value_t = 1024)]
    pub socket_buffer_packets: usize,

    /// The most connections from one client address (0: no cap); `limit_exceeded` beyond.
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = 0)]
    pub max_connections_per_ip: usize,

    /// Reverse proxies whose `X-Forwarded-For` is believed (comma-separated addresses); from any
    /// other peer the header is ignored.
    #[arg(long = "trusted-proxy", env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,

    /// Time a client has after opening its transport to complete the Socket.IO CONNECT.
    #[arg(long, env = "CONNECT_TIMEOUT_MS", default_value_t = 10_000)]
    pub connect_timeout_ms: u64,

    /// Clock skew allowed when checking a token's `exp` and `nbf`, in seconds.
    #[arg(long, env = "JWT_LEEWAY_S", default_value_t = 0)]
    pub jwt_leeway_s: u64,

    /// The `iss` every token must carry (unset: not checked).
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// An `aud` every token must carry (unset: not checked).
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Engine.IO ping interval: how often the server pings each client.
    #[arg(long, env = "PING_INTERVAL_MS", default_value_t = 25_000)]
    pub ping_interval_ms: u64,

    /// Engine.IO ping timeout: a client that does not answer a ping within it is disconnected.
    #[arg(long, env = "PING_TIMEOUT_MS", default_value_t = 20_000)]
    pub ping_timeout_ms: u64,

    /// This node's id in /health and logs (default: random).
    #[arg(long, env = "NODE_ID")]
    pub node_id: Option<String>,

    /// Keys of the backend HTTP API (`Authorization: Bearer <key>`), comma-separated so a key
    /// can be rotated: add the new one, move the callers, remove the old one. Unset: the backend
    /// API answers 404.
    #[arg(
        long = "api-key",
        env = "RTM_API_KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

    /// How long a backend API call that asks every node (who is online, rooms, disconnect) waits
    /// for their answers before it fails with `unavailable`.
    #[arg(long, env = "RTM_API_TIMEOUT_MS", default_value_t = 2_000)]
    pub api_timeout_ms: u64,
}

impl Default for Config {
    /// The documented defaults (the same as the flags' defaults), ignoring the environment.
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 3000,
            redis_url: None,
            presence_ttl_ms: 30_000,
            presence_reaper_interval_ms: 3_000,
            presence_grace_ms: 5_000,
            presence_snapshot_page: 1_000,
            presence_batch_ms: 50,
            presence_count_interval_ms: 1_000,
            redis_heartbeat_tick_ms: 2,
            shutdown_timeout_ms: 10_000,
            cors_origin: "*".into(),
            static_dir: None,
            jwt_secret: None,
            rate_limit_per_sec: 50.0,
            rate_limit_burst: 100.0,
            chat_max_history: 100,
            chat_history_ttl_s: 7 * 24 * 3600,
            storage_ttl_s: 7 * 24 * 3600,
            max_id_bytes: 256,
            max_state_bytes: 8192,
            max_message_bytes: 4096,
            max_rooms_per_connection: 100,
            max_message_size_bytes: 1 << 20,
            socket_buffer_packets: 1024,
            max_connections_per_ip: 0,
            trusted_proxies: Vec::new(),
            connect_timeout_ms: 10_000,
            jwt_leeway_s: 0,
            jwt_issuer: None,
            jwt_audience: None,
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            node_id: None,
            api_keys: Vec::new(),
            api_timeout_ms: 2_000,
        }
    }
}

impl Config {
    /// The input limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_id_bytes: self.max_id_bytes,
            max_state_bytes: self.max_state_bytes,
            max_message_bytes: self.max_message_bytes,
            max_rooms_per_connection: self.max_rooms_per_connection,
        }
    }

    /// The per-connection rate limit.
    pub fn rate_limit(&self) -> RateLimit {
        RateLimit {
            per_sec: self.rate_limit_per_sec,
            burst: self.rate_limit_burst,
        }
    }

    /// The token verifier, when a JWT secret is set.
    pub fn jwt(&self) -> Option<JwtVerifier> {
        let secret = self.jwt_secret.as_deref()?;
        Some(JwtVerifier::hs256(
            secret,
            self.jwt_leeway_s,
            self.jwt_issuer.as_deref(),
            self.jwt_audience.as_deref(),
        ))
    }

    /// The presence TTL.
    pub fn presence_ttl(&self) -> Duration {
        Duration::from_millis(self.presence_ttl_ms)
    }

    /// How long a room's storage is kept after its last write.
    pub fn storage_ttl(&self) -> Duration {
        Duration::from_secs(self.storage_ttl_s)
    }

    /// The presence reaper interval.
    pub fn reaper_interval(&self) -> Duration {
        Duration::from_millis(self.presence_reaper_interval_ms)
    }
}
