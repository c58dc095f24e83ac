//! Expiry: a connection that stops heartbeating (but stays connected) is removed and announced as
//! `leave` once, within TTL + one reaper interval, also with several nodes reaping.

use std::time::{Duration, Instant};

use rtm_tests::{RedisServer, Store, TestClient, TestServer, unique};
use serde_json::json;

const TTL_MS: u64 = 600;
const REAPER_MS: u64 = 100;

fn short_ttl(c: &mut rtm_server::Config) {
    c.presence_ttl_ms = TTL_MS;
    c.presence_reaper_interval_ms = REAPER_MS;
}

/// `silent` joins and never heartbeats; `watcher` keeps heartbeating and sees it leave once.
async fn silent_connection_expires(watch_url: &str, silent_url: &str) {
    let room = unique("exp");
    let watcher = TestClient::connect(watch_url).await;
    let jw = watcher
        .request("presence:join", json!({"roomId": room, "userId": "w"}))
        .await;
    let silent = TestClient::connect(silent_url).await;
    let js = silent
        .request("presence:join", json!({"roomId": room, "userId": "s"}))
        .await;
    let joined_at = Instant::now();
    let conn = js["self"]["connId"].clone();
    let epoch = jw["self"]["epoch"].clone();

    // The watcher heartbeats until the silent one is announced gone.
    let leave = {
        let heartbeats = async {
            loop {
                let hb = watcher
                    .request("presence:heartbeat", json!({"epoch": epoch}))
                    .await;
                assert_eq!(hb["ok"], true);
                tokio::time::sleep(Duration::from_millis(TTL_MS / 4)).await;
            }
        };
        tokio::select! {
            leave = watcher.expect("presence:event", |e| e["type"] == "leave" && e["connId"] == conn) => leave,
            () = heartbeats => unreachable!(),
        }
    };
    let waited = joined_at.elapsed();
    assert_eq!(leave["userId"], "s");
    assert!(
        waited >= Duration::from_millis(TTL_MS - 50),
        "announced before the TTL ran out: {waited:?}"
    );
    // Generous bound for a loaded CI box; the protocol bound is TTL + one reaper interval.
    assert!(
        waited < Duration::from_millis(TTL_MS + REAPER_MS) * 4,
        "too late: {waited:?}"
    );

    // The expired connection learns it on its next heartbeat, and gets no events of the room.
    let hb = silent
        .request("presence:heartbeat", json!({"epoch": js["self"]["epoch"]}))
        .await;
    assert_eq!(hb["code"], "not_joined");

    // Exactly one leave: a later marker event arrives with no second leave before it.
    watcher
        .request(
            "presence:heartbeat",
            json!({"epoch": epoch, "patchState": {"m": 1}}),
        )
        .await;
    let seen = watcher
        .events_until("presence:event", |e| e["type"] == "update")
        .await;
    assert!(
        seen.iter()
            .all(|(_, e)| !(e["type"] == "leave" && e["connId"] == conn)),
        "a second leave: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_on_memory() {
    let server = TestServer::start(&Store::Memory, short_ttl).await;
    silent_connection_expires(&server.url(), &server.url()).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_once_with_two_nodes_reaping() {
    let redis = RedisServer::start();
    expires_once_with_two_nodes_on(Store::Redis(redis.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_once_with_two_nodes_reaping_a_cluster() {
    let cluster = rtm_tests::RedisCluster::start();
    expires_once_with_two_nodes_on(Store::Redis(cluster.url())).await;
}

async fn expires_once_with_two_nodes_on(store: Store) {
    let n1 = TestServer::start(&store, short_ttl).await;
    let n2 = TestServer::start(&store, short_ttl).await;
    silent_connection_expires(&n1.url(), &n2.url()).await;
    n1.stop().await;
    n2.stop().await;
}
