//! The chat module on every store (memory, one Redis, a Redis Cluster): send, broadcast, history,
//! limits and membership.

use rtm_tests::raw::RawSocket;
use rtm_tests::{Store, TestClient, TestServer, unique};
use serde_json::{Value, json};

rtm_tests::on_every_store!(
    send_broadcasts_to_the_room,
    history_is_oldest_first_and_capped,
    only_members_may_use_a_room,
    bad_chat_payloads_are_refused,
    history_is_forgotten_after_its_retention,
    a_reconnect_recovers_what_it_missed_once,
);

async fn joined(server: &TestServer, room: &str, user: &str) -> TestClient {
    let client = TestClient::connect(&server.url()).await;
    let ack = client
        .request("presence:join", json!({"roomId": room, "userId": user}))
        .await;
    assert_eq!(ack["ok"], true);
    client
}

async fn send_broadcasts_to_the_room(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("chat");
    let alice = joined(&server, &room, "alice").await;
    let bob = joined(&server, &room, "bob").await;
    let ack = alice
        .request("chat:send", json!({"roomId": room, "message": "hello"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let msg_id = ack["msgId"].as_str().unwrap().to_string();
    assert!(ack["ts"].as_u64().is_some());
    for client in [&alice, &bob] {
        let msg = client
            .expect("chat:message", |m| m["msgId"] == msg_id.as_str())
            .await;
        assert_eq!(
            msg,
            json!({"msgId": msg_id, "roomId": room, "userId": "alice", "message": "hello", "ts": ack["ts"]})
        );
    }
    server.stop().await;
}

async fn history_is_oldest_first_and_capped(store: Store) {
    let server = TestServer::start(&store, |c| c.chat_max_history = 5).await;
    let room = unique("chat");
    let alice = joined(&server, &room, "alice").await;
    for i in 0..8 {
        let ack = alice
            .request(
                "chat:send",
                json!({"roomId": room, "message": format!("m{i}")}),
            )
            .await;
        assert_eq!(ack["ok"], true);
    }
    let texts = |ack: &Value| -> Vec<String> {
        ack["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message"].as_str().unwrap().to_string())
            .collect()
    };
    let all = alice.request("chat:history", json!({"roomId": room})).await;
    assert_eq!(
        texts(&all),
        ["m3", "m4", "m5", "m6", "m7"],
        "the last 5, oldest first"
    );
    let two = alice
        .request("chat:history", json!({"roomId": room, "limit": 2}))
        .await;
    assert_eq!(texts(&two), ["m6", "m7"]);
    let (status, body) = rtm_tests::http_get(
        &format!(
            "{}/api/chat/{}/history?limit=3",
            server.url(),
            rtm_tests::encode_path(&room)
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(texts(&body), ["m5", "m6", "m7"]);
    server.stop().await;
}

async fn only_members_may_use_a_room(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("chat");
    let member = joined(&server, &room, "alice").await;
    let outsider = TestClient::connect(&server.url()).await;
    let ack = outsider
        .request("chat:send", json!({"roomId": room, "message": "let me in"}))
        .await;
    assert_eq!(ack["code"], "forbidden", "{ack}");
    let ack = outsider
        .request("chat:history", json!({"roomId": room}))
        .await;
    assert_eq!(ack["code"], "forbidden");
    // After leaving, the member is an outsider too.
    member.request("presence:leave", Value::Null).await;
    let ack = member
        .request("chat:send", json!({"roomId": room, "message": "bye"}))
        .await;
    assert_eq!(ack["code"], "forbidden");
    let history = joined(&server, &room, "carol").await;
    let ack = history
        .request("chat:history", json!({"roomId": room}))
        .await;
    assert_eq!(
        ack["messages"],
        json!([]),
        "refused messages were not stored"
    );
    server.stop().await;
}

async fn bad_chat_payloads_are_refused(store: Store) {
    let server = TestServer::start(&store, |c| c.max_message_bytes = 10).await;
    let room = unique("chat");
    let alice = joined(&server, &room, "alice").await;
    let cases = [
        ("chat:send", json!({"roomId": room}), "message"),
        (
            "chat:send",
            json!({"roomId": room, "message": 5}),
            "message",
        ),
        (
            "chat:send",
            json!({"roomId": room, "message": "   "}),
            "message",
        ),
        (
            "chat:send",
            json!({"roomId": room, "message": "x".repeat(11)}),
            "message",
        ),
        ("chat:send", json!({"message": "hi"}), "roomId"),
        ("chat:send", json!("hi"), "payload"),
        ("chat:history", json!({"roomId": room, "limit": 0}), "limit"),
        (
            "chat:history",
            json!({"roomId": room, "limit": "5"}),
            "limit",
        ),
        ("chat:history", json!({}), "roomId"),
    ];
    for (event, payload, field) in cases {
        let ack = alice.request(event, payload.clone()).await;
        assert_eq!(ack["code"], "invalid_payload", "{event} {payload}: {ack}");
        assert!(
            ack["error"].as_str().unwrap().contains(field),
            "{ack} should name {field}"
        );
    }
    server.stop().await;
}

async fn history_is_forgotten_after_its_retention(store: Store) {
    let server = TestServer::start(&store, |c| c.chat_history_ttl_s = 1).await;
    let room = unique("chat");
    let alice = joined(&server, &room, "alice").await;
    let sent = alice
        .request("chat:send", json!({"roomId": room, "message": "soon gone"}))
        .await;
    assert_eq!(sent["ok"], true);
    let history = json!({"roomId": room});
    let kept = alice.request("chat:history", history.clone()).await;
    assert_eq!(kept["messages"].as_array().unwrap().len(), 1);
    // Retention is time passing: poll, bounded, until the room's history is gone.
    let deadline = tokio::time::Instant::now() + rtm_tests::WAIT;
    loop {
        let now = alice.request("chat:history", history.clone()).await;
        if now["messages"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still kept: {now}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.stop().await;
}

/// A raw client joined to `room` as `user` (raw: its connection can be cut without a goodbye).
async fn raw_member(server: &TestServer, room: &str, user: &str) -> RawSocket {
    let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = socket
        .request("presence:join", &json!({"roomId": room, "userId": user}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    socket
}

async fn send(socket: &mut RawSocket, room: &str, text: &str) -> String {
    let ack = socket
        .request("chat:send", &json!({"roomId": room, "message": text}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    ack["msgId"].as_str().unwrap().to_string()
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect()
}

async fn a_reconnect_recovers_what_it_missed_once(store: Store) {
    let server = TestServer::start(&store, |c| c.chat_max_history = 6).await;
    let room = unique("chat");
    let mut alice = raw_member(&server, &room, "alice").await;
    let mut bob = raw_member(&server, &room, "bob").await;
    send(&mut bob, &room, "m1").await;
    let last_seen = send(&mut bob, &room, "m2").await;
    for _ in 0..2 {
        alice.event("chat:message").await;
    }
    // Alice's connection is cut; the room goes on without her.
    alice.drop_now().await;
    send(&mut bob, &room, "m3").await;
    send(&mut bob, &room, "m4").await;

    // She comes back: live messages from her join on, and the gap from history, merged by
    // msgId (the documented pattern). A message sent between her join and her history request
    // arrives both ways, and counts once.
    let mut alice = raw_member(&server, &room, "alice").await;
    send(&mut bob, &room, "m5").await;
    let recovered = alice
        .request("chat:history", &json!({"roomId": room, "after": last_seen}))
        .await;
    assert_eq!(recovered["gap"], false, "{recovered}");
    let mut seen: Vec<Value> = Vec::new();
    let mut add = |message: Value| {
        if !seen.iter().any(|m| m["msgId"] == message["msgId"]) {
            seen.push(message);
        }
    };
    for message in recovered["messages"].as_array().unwrap() {
        add(message.clone());
    }
    add(alice.event("chat:message").await);
    assert_eq!(
        texts(&seen),
        ["m3", "m4", "m5"],
        "each missed message once, in order"
    );

    // `limit` pages: ask again after the last one.
    let page = alice
        .request(
            "chat:history",
            &json!({"roomId": room, "after": last_seen, "limit": 2}),
        )
        .await;
    assert_eq!(texts(page["messages"].as_array().unwrap()), ["m3", "m4"]);
    // An id the history no longer has (pushed out, or never there): the newest, and a gap.
    for i in 6..=9 {
        send(&mut bob, &room, &format!("m{i}")).await;
    }
    for after in [last_seen.as_str(), "no-such-message"] {
        let lost = alice
            .request(
                "chat:history",
                &json!({"roomId": room, "after": after, "limit": 3}),
            )
            .await;
        assert_eq!(lost["gap"], true, "{lost}");
        assert_eq!(
            texts(lost["messages"].as_array().unwrap()),
            ["m7", "m8", "m9"]
        );
    }
    for bad in [json!(""), json!(5), json!("x".repeat(257))] {
        let refused = alice
            .request("chat:history", &json!({"roomId": room, "after": bad}))
            .await;
        assert_eq!(refused["code"], "invalid_payload", "{refused}");
    }
    server.stop().await;
}
