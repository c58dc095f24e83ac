//! Two server nodes on one Redis (or one Redis Cluster) act as one: snapshots, events and chat cross nodes, and every
//! event reaches every member exactly once.

use rtm_tests::{Store, TestClient, TestServer, unique};
use serde_json::{Value, json};

/// Each scenario on one Redis and on a Redis Cluster.
macro_rules! on_redis_and_cluster {
    ($($name:ident),* $(,)?) => {
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let redis = rtm_tests::RedisServer::start();
                super::$name(redis.url()).await;
            })*
        }
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let cluster = rtm_tests::RedisCluster::start();
                super::$name(cluster.url()).await;
            })*
        }
    };
}

on_redis_and_cluster!(
    presence_and_chat_cross_nodes_exactly_once,
    graceful_shutdown_announces_this_nodes_connections,
);

async fn two_nodes(url: &str) -> (TestServer, TestServer) {
    let store = Store::Redis(url.to_string());
    (
        TestServer::start(&store, |_| {}).await,
        TestServer::start(&store, |_| {}).await,
    )
}

async fn presence_and_chat_cross_nodes_exactly_once(url: String) {
    let (n1, n2) = two_nodes(&url).await;
    let room = unique("mn");
    let a = TestClient::connect(&n1.url()).await;
    let b = TestClient::connect(&n2.url()).await;
    let ja = a
        .request("presence:join", json!({"roomId": room, "userId": "alice"}))
        .await;
    let jb = b
        .request(
            "presence:join",
            json!({"roomId": room, "userId": "bob", "state": {"s": 1}}),
        )
        .await;
    let (ca, cb) = (ja["self"]["connId"].clone(), jb["self"]["connId"].clone());
    assert_eq!(
        jb["snapshot"].as_array().unwrap().len(),
        2,
        "the snapshot spans nodes"
    );

    // Join, update, chat, leave: each crosses to the other node.
    let join = a
        .expect("presence:event", |e| {
            e["type"] == "join" && e["connId"] == cb
        })
        .await;
    assert_eq!(join["userId"], "bob");
    let epoch = jb["self"]["epoch"].clone();
    b.request(
        "presence:heartbeat",
        json!({"epoch": epoch, "patchState": {"s": 2}}),
    )
    .await;
    b.request(
        "chat:send",
        json!({"roomId": room, "message": "hi from node 2"}),
    )
    .await;
    b.request(
        "presence:heartbeat",
        json!({"epoch": epoch, "patchState": {"s": 3}}),
    )
    .await;

    // Everything a received up to the last update: each event once, in order.
    let seen = a
        .events_until("presence:event", |e| {
            e["type"] == "update" && e["state"]["s"] == 3
        })
        .await;
    let kinds: Vec<String> = seen
        .iter()
        .map(|(name, e)| match name.as_str() {
            "presence:event" => format!("{}:{}", e["type"].as_str().unwrap(), e["state"]["s"]),
            other => format!("{other}:{}", e["message"].as_str().unwrap_or("")),
        })
        .collect();
    assert_eq!(
        kinds,
        ["update:2", "chat:message:hi from node 2", "update:3"]
    );

    // b sees a's chat message once as well (its own node delivers it).
    a.request(
        "chat:send",
        json!({"roomId": room, "message": "hi from node 1"}),
    )
    .await;
    a.request("chat:send", json!({"roomId": room, "message": "marker"}))
        .await;
    let seen = b
        .events_until("chat:message", |m| m["message"] == "marker")
        .await;
    let from_a: Vec<_> = seen
        .iter()
        .filter(|(n, m)| n == "chat:message" && m["message"] == "hi from node 1")
        .collect();
    assert_eq!(from_a.len(), 1, "{seen:?}");

    // Chat history is shared.
    let history = a.request("chat:history", json!({"roomId": room})).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 3);

    a.disconnect().await;
    let leave = b
        .expect("presence:event", |e| {
            e["type"] == "leave" && e["connId"] == ca
        })
        .await;
    assert_eq!(leave["state"], Value::Null);
    n1.stop().await;
    n2.stop().await;
}

async fn graceful_shutdown_announces_this_nodes_connections(url: String) {
    let (n1, n2) = two_nodes(&url).await;
    let room = unique("mn");
    let a = TestClient::connect(&n1.url()).await;
    let b = TestClient::connect(&n2.url()).await;
    let ja = a
        .request("presence:join", json!({"roomId": room, "userId": "alice"}))
        .await;
    b.request("presence:join", json!({"roomId": room, "userId": "bob"}))
        .await;
    let n1_url = n1.url();
    n1.stop().await;
    let leave = b
        .expect("presence:event", |e| {
            e["type"] == "leave" && e["connId"] == ja["self"]["connId"]
        })
        .await;
    assert_eq!(leave["userId"], "alice");
    drop(a);
    let refused = TestClient::connect_with(&n1_url, None).await;
    assert!(refused.is_err(), "a stopped node accepts no connection");
    let snap = rtm_tests::http_get_json(&format!(
        "{}/api/rooms/{}/presence",
        n2.url(),
        rtm_tests::encode_path(&room)
    ))
    .await;
    assert_eq!(snap["snapshot"].as_array().unwrap().len(), 1);
    n2.stop().await;
}
