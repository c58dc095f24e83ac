//! Helpers for the end-to-end tests: a private `redis-server`, in-process rtm servers, a module
//! that never answers, and a Socket.IO test client (built on the third-party `rust_socketio`,
//! which doubles as the interop proof that the server works with clients other than ours); and
//! for the fault suite, nodes as processes, a round-robin balancer that can cut every connection,
//! and a fleet of native SDK clients whose views are checked against the truth.

mod balancer;
pub mod bench;
mod client;
mod node;
mod proxy;
pub mod raw;
mod redis_cluster;
mod redis_server;
mod server;
mod silent;
mod truth;

pub use balancer::Balancer;
pub use client::TestClient;
pub use node::{Node, NodeConfig, until};
pub use proxy::Proxy;
pub use redis_cluster::RedisCluster;
pub use redis_server::{RedisServer, free_port};
pub use server::{Store, TestServer};
pub use silent::{SILENT_EVENT, Silent};
pub use truth::{Fleet, FleetConfig, Logged, Participant, SAMPLE, Status};

/// How long any single expectation in a test may wait before it fails.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A room id no other test uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// GETs `url` and parses the JSON body (panics on a transport error).
pub async fn http_get_json(url: &str) -> serde_json::Value {
    http_get(url, None).await.1
}

/// GETs `url` with an optional bearer token; returns the status and the JSON body.
pub async fn http_get(url: &str, bearer: Option<&str>) -> (u16, serde_json::Value) {
    send(reqwest::Client::new().get(url), bearer).await
}

/// POSTs `body` (sent as it is, as JSON) to `url` with an optional bearer token; returns the
/// status and the JSON body (`Null` when the body is not JSON).
pub async fn http_post(url: &str, bearer: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    send(request, bearer).await
}

/// Sends `body` (as JSON, when given) to `url` with `method` and an optional bearer token;
/// returns the status and the JSON body (`Null` when the body is not JSON).
pub async fn http_send(
    method: reqwest::Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    send(request, bearer).await
}

/// Sends `request` with an optional bearer token: the status and the JSON body (`Null` when the
/// body is not JSON).
async fn send(
    mut request: reqwest::RequestBuilder,
    bearer: Option<&str>,
) -> (u16, serde_json::Value) {
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// `segment` percent-encoded for use in a URL path.
pub fn encode_path(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Waits for the first channel event matching `pred` (panics after [`WAIT`]).
pub async fn expect_event<S>(
    events: &mut S,
    what: &str,
    pred: impl Fn(&rtm_sdk::ChannelEvent) -> bool,
) -> rtm_sdk::ChannelEvent
where
    S: futures_util::Stream<Item = rtm_sdk::ChannelEvent> + Unpin,
{
    use futures_util::StreamExt;
    let wait = async {
        while let Some(event) = events.next().await {
            if pred(&event) {
                return event;
            }
        }
        panic!("the event stream ended while waiting for {what}");
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

/// Runs each listed `async fn name(store: Store)` as three tests, `memory::name`, `redis::name`
/// (a private `redis-server`) and `cluster::name` (a private 3-master Redis Cluster).
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        $crate::on_both_stores!($($name),*);
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let cluster = $crate::RedisCluster::start();
                super::$name($crate::Store::Redis(cluster.url())).await;
            })*
        }
    };
}

/// Runs each listed `async fn name(store: Store)` as two tests, `memory::name` and `redis::name`,
/// the second on a private `redis-server`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Store::Memory).await;
            })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let redis = $crate::RedisServer::start();
                super::$name($crate::Store::Redis(redis.url())).await;
            })*
        }
    };
}
