//! Scaling out: each node receives only its own rooms' traffic (one Redis and a Redis Cluster),
//! the backend API answers across a cluster, and after Redis restarts empty under connected
//! clients every client's view comes back to the truth.

use std::collections::BTreeSet;
use std::time::Duration;

use rtm_sdk::{ClientOptions, JoinOptions, RealtimeClient};
use rtm_tests::raw::RawSocket;
use rtm_tests::{RedisCluster, RedisServer, Store, TestServer, WAIT, unique};
use serde_json::json;

/// This node's `rtm_bus_messages_total{direction="received"}`.
async fn received(server: &TestServer) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("a body");
    text.lines()
        .find_map(|line| line.strip_prefix("rtm_bus_messages_total{direction=\"received\"} "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Joins `room` as `user`; returns the epoch.
async fn join(socket: &mut RawSocket, room: &str, user: &str) -> u64 {
    let ack = socket
        .request("presence:join", &json!({ "roomId": room, "userId": user }))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    ack["self"]["epoch"].as_u64().unwrap()
}

/// Room X lives on node 1, room Y on node 2: a burst of updates in X reaches X's members and
/// never reaches node 2.
async fn each_node_receives_only_its_rooms(store: Store) {
    let (n1, n2) = (
        TestServer::start(&store, |_| {}).await,
        TestServer::start(&store, |_| {}).await,
    );
    let (x, y) = (unique("x"), unique("y"));
    let mut x1 = RawSocket::connect(&n1.url(), None).await.unwrap();
    let mut x2 = RawSocket::connect(&n1.url(), None).await.unwrap();
    let mut y1 = RawSocket::connect(&n2.url(), None).await.unwrap();
    let mut y2 = RawSocket::connect(&n2.url(), None).await.unwrap();
    let epoch = join(&mut x1, &x, "x1").await;
    join(&mut x2, &x, "x2").await;
    let y_epoch = join(&mut y1, &y, "y1").await;
    join(&mut y2, &y, "y2").await;
    // y2's join reached y1 (so node 2 has received everything of Y so far).
    loop {
        let event = y1.event("presence:event").await;
        if event["userId"] == "y2" {
            break;
        }
    }
    let before = received(&n2).await;

    const BURST: usize = 50;
    for i in 0..BURST {
        let ack = x1
            .request(
                "presence:heartbeat",
                &json!({ "roomId": x, "epoch": epoch, "patchState": { "n": i } }),
            )
            .await;
        assert_eq!(ack["changed"], true, "{ack}");
    }
    let mut updates = 0;
    while updates < BURST {
        let event = x2.event("presence:event").await;
        if event["type"] == "update" && event["userId"] == "x1" {
            updates += 1;
        }
    }
    // A marker in Y: once node 2 has it, it would have had X's burst too.
    y1.request(
        "presence:heartbeat",
        &json!({ "roomId": y, "epoch": y_epoch, "patchState": { "marker": true } }),
    )
    .await;
    loop {
        let event = y2.event("presence:event").await;
        if event["type"] == "update" {
            break;
        }
    }
    assert_eq!(
        received(&n2).await - before,
        1,
        "node 2 received only the marker, none of room X's {BURST} updates"
    );
    n1.stop().await;
    n2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_receives_only_its_rooms_on_one_redis() {
    let redis = RedisServer::start();
    each_node_receives_only_its_rooms(Store::Redis(redis.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_receives_only_its_rooms_on_a_cluster() {
    let cluster = RedisCluster::start();
    each_node_receives_only_its_rooms(Store::Redis(cluster.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backend_api_answers_across_a_cluster() {
    let cluster = RedisCluster::start();
    let store = Store::Redis(cluster.url());
    let keyed = |c: &mut rtm_server::Config| c.api_keys = vec!["k".into()];
    let (n1, n2) = (
        TestServer::start(&store, keyed).await,
        TestServer::start(&store, keyed).await,
    );
    let mut on_1 = RawSocket::connect(&n1.url(), None).await.unwrap();
    let mut on_2 = RawSocket::connect(&n2.url(), None).await.unwrap();
    join(&mut on_1, &unique("c1"), "carol").await;
    join(&mut on_2, &unique("c2"), "carol").await;
    let (status, body) = rtm_tests::http_post(
        &format!("{}/api/users/carol/events", n1.url()),
        Some("k"),
        r#"{"event":"note","data":1}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(on_1.event("note").await, json!(1));
    assert_eq!(on_2.event("note").await, json!(1));
    let (status, presence) =
        rtm_tests::http_get(&format!("{}/api/users/carol/presence", n2.url()), Some("k")).await;
    assert_eq!(status, 200, "{presence}");
    assert_eq!(presence["connections"].as_array().map(Vec::len), Some(2));
    n1.stop().await;
    n2.stop().await;
}

/// Clients on two nodes; Redis restarts empty: every view comes back to the truth (everyone
/// once, no one else), through the clients' rejoins and the nodes' resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_heal_after_redis_restarts_empty() {
    let mut redis = RedisServer::start();
    let store = Store::Redis(redis.url());
    let short = |c: &mut rtm_server::Config| {
        c.presence_ttl_ms = 3_000;
        c.presence_reaper_interval_ms = 200;
    };
    let (n1, n2) = (
        TestServer::start(&store, short).await,
        TestServer::start(&store, short).await,
    );
    let room = unique("heal");
    let mut clients = Vec::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { &n1 } else { &n2 };
        let options = ClientOptions::new(node.url()).configure(|c| {
            c.presence.heartbeat_interval = Duration::from_millis(300);
            c.reconnection.initial_delay = Duration::from_millis(50);
            c.reconnection.max_delay = Duration::from_millis(300);
        });
        let client = RealtimeClient::connect(options).await.unwrap();
        let (channel, _) = client
            .join_room(JoinOptions::new(&room, format!("u{i}")))
            .await
            .unwrap();
        clients.push((client, channel));
    }
    let users = |n: usize| -> BTreeSet<String> { (0..n).map(|i| format!("u{i}")).collect() };
    let converged = |clients: &[(RealtimeClient, rtm_sdk::PresenceChannel)],
                     truth: &BTreeSet<String>| {
        clients.iter().all(|(_, channel)| {
            let connections = channel.connections();
            let seen: BTreeSet<String> = connections.iter().map(|e| e.user_id.clone()).collect();
            connections.len() == truth.len() && seen == *truth
        })
    };
    let all = users(6);
    let wait = async {
        while !converged(&clients, &all) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .expect("views agree before the restart");

    // Each user's epoch, as the first client sees it.
    let epoch_of = |channel: &rtm_sdk::PresenceChannel, user: &str| {
        channel
            .connections()
            .into_iter()
            .find(|e| e.user_id == user)
            .map(|e| e.epoch)
    };
    let epochs_before: Vec<Option<u64>> = (0..4)
        .map(|i| epoch_of(&clients[0].1, &format!("u{i}")))
        .collect();
    // Redis loses everything; two users leave while the nodes are reconnecting (their leaves
    // find nothing to remove and announce nothing).
    // Down for 1.5 s: the nodes' reconnect backoff then leaves a gap after Redis is back in
    // which rejoins are published while a node's subscription is still down.
    redis.restart_empty(Duration::from_millis(1_500));
    for (client, _) in clients.drain(4..) {
        client.disconnect().await;
    }
    let truth = users(4);
    // Every view must come back to the truth; the bound is generous (heartbeats, the nodes'
    // reconnect backoff); the views usually agree within a second or two.
    let wait = async {
        while !converged(&clients, &truth) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| {
            let views: Vec<Vec<String>> = clients
                .iter()
                .map(|(_, c)| c.connections().into_iter().map(|e| e.user_id).collect())
                .collect();
            panic!("views did not heal: {views:?}")
        });
    // And they agree with the store.
    let body = rtm_tests::http_get_json(&format!("{}/api/rooms/{room}/presence", n1.url())).await;
    let stored: BTreeSet<String> = body["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["userId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored, truth);
    // The rejoins after the loss got newer epochs, not a counter started again from 1.
    for (i, before) in epochs_before.iter().enumerate() {
        let after = epoch_of(&clients[0].1, &format!("u{i}"));
        assert!(
            after > *before,
            "u{i}'s epoch went from {before:?} to {after:?}"
        );
    }
    drop(all);
    for (client, _) in clients {
        client.disconnect().await;
    }
    n1.stop().await;
    n2.stop().await;
}
