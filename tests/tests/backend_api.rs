//! The backend HTTP API: emits to users, rooms and everyone, who is online, active rooms and
//! disconnects, answered for every node (real Redis, two nodes, raw Socket.IO clients); API keys;
//! room patterns in tokens, on join and on REST reads.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use rtm_tests::raw::RawSocket;
use rtm_tests::{RedisServer, Store, TestServer, http_get, http_post, unique};
use serde_json::{Value, json};

const SECRET: &str = "backend-api-secret";
const KEY: &str = "key-new";
const OLD_KEY: &str = "key-old";

/// A token for `sub`, valid for an hour, with `rooms` when given.
fn token(sub: &str, rooms: Option<&[&str]>) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let mut claims = json!({ "sub": sub, "exp": exp });
    if let Some(rooms) = rooms {
        claims["rooms"] = json!(rooms);
    }
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// Two nodes on one Redis, with tokens and API keys (an old and a new one, as in a rotation).
async fn two_nodes(redis: &RedisServer, tweak: fn(&mut rtm_server::Config)) -> [TestServer; 2] {
    let store = Store::Redis(redis.url());
    let config = move |c: &mut rtm_server::Config| {
        c.jwt_secret = Some(SECRET.into());
        c.api_keys = vec![OLD_KEY.into(), KEY.into()];
        tweak(c);
    };
    [
        TestServer::start(&store, config).await,
        TestServer::start(&store, config).await,
    ]
}

/// A connection as `user`, with a token.
async fn connect(server: &TestServer, user: &str) -> RawSocket {
    RawSocket::connect(&server.url(), Some(json!({ "token": token(user, None) })))
        .await
        .expect("connects")
}

/// Joins `room` as `user`; returns the public connection id.
async fn join(socket: &mut RawSocket, room: &str, user: &str) -> String {
    let ack = socket
        .request("presence:join", &json!({ "roomId": room, "userId": user }))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    ack["self"]["connId"].as_str().unwrap().to_string()
}

/// POSTs `{event, data}` to `path` with the API key.
async fn emit(server: &TestServer, path: &str, event: &str, data: Value) {
    let body = json!({ "event": event, "data": data }).to_string();
    let (status, answer) = http_post(&format!("{}{path}", server.url()), Some(KEY), &body).await;
    assert_eq!(
        (status, &answer["ok"]),
        (200, &json!(true)),
        "{path}: {answer}"
    );
}

/// How many `name` events the socket has received (and kept aside) so far.
fn count(socket: &RawSocket, name: &str) -> usize {
    socket.events.iter().filter(|(n, _)| n == name).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_reach_each_connection_once_on_every_node() {
    let redis = RedisServer::start();
    let [a, b] = two_nodes(&redis, |_| {}).await;
    let (room, other_room) = (unique("emit-room"), unique("emit-other"));
    let mut alice_a = connect(&a, "alice").await;
    let mut alice_b = connect(&b, "alice").await;
    let mut bob_b = connect(&b, "bob").await;
    join(&mut alice_a, &room, "alice").await;
    join(&mut bob_b, &room, "bob").await;
    join(&mut alice_b, &other_room, "alice").await;

    // To a user: both of alice's connections, on both nodes; not bob. The broadcast after it
    // travels the same way, so bob has it only after he would have had the first.
    emit(&a, "/api/users/alice/events", "note", json!({ "n": 1 })).await;
    emit(&a, "/api/broadcast", "marker", json!(1)).await;
    for socket in [&mut alice_a, &mut alice_b, &mut bob_b] {
        assert_eq!(socket.event("marker").await, json!(1));
    }
    for alice in [&alice_a, &alice_b] {
        assert_eq!(count(alice, "note"), 1);
        assert!(
            alice
                .events
                .contains(&("note".to_string(), json!({ "n": 1 })))
        );
    }
    assert_eq!(count(&bob_b, "note"), 0);

    // To a room: its members on both nodes, once; not alice's connection in another room (an
    // emit to her room right after reaches her after the first would have).
    emit(
        &b,
        &format!("/api/rooms/{room}/events"),
        "room-note",
        json!("hi"),
    )
    .await;
    emit(
        &b,
        &format!("/api/rooms/{other_room}/events"),
        "marker",
        json!(2),
    )
    .await;
    assert_eq!(alice_a.event("room-note").await, json!("hi"));
    assert_eq!(bob_b.event("room-note").await, json!("hi"));
    assert_eq!(alice_b.event("marker").await, json!(2));
    assert_eq!(count(&alice_b, "room-note"), 0);

    // To everyone: once each.
    emit(&b, "/api/broadcast", "hello", json!(null)).await;
    emit(&b, "/api/broadcast", "marker", json!(3)).await;
    for socket in [&mut alice_a, &mut alice_b, &mut bob_b] {
        loop {
            if socket.event("marker").await == json!(3) {
                break;
            }
        }
        assert_eq!(count(socket, "hello"), 1);
        assert_eq!(count(socket, "room-note"), 0, "the room event came twice");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_tokens_is_the_user_it_joined_as() {
    let server = TestServer::start(&Store::Memory, |c| c.api_keys = vec![KEY.into()]).await;
    let mut carol = RawSocket::connect(&server.url(), None).await.unwrap();
    let mut anonymous = RawSocket::connect(&server.url(), None).await.unwrap();
    join(&mut carol, &unique("no-token"), "carol").await;
    emit(&server, "/api/users/carol/events", "note", json!(1)).await;
    emit(&server, "/api/broadcast", "marker", json!(1)).await;
    assert_eq!(carol.event("note").await, json!(1));
    anonymous.event("marker").await;
    assert_eq!(count(&anonymous, "note"), 0);
    server.stop().await;
}

/// `GET path` with the API key; the body when the status is 200.
async fn get(server: &TestServer, path: &str) -> Value {
    let (status, body) = http_get(&format!("{}{path}", server.url()), Some(KEY)).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_is_online_and_which_rooms_across_nodes() {
    let redis = RedisServer::start();
    // A short TTL, so that a silent connection's presence expires within the test.
    let [a, b] = two_nodes(&redis, |c| {
        c.presence_ttl_ms = 1_000;
        c.presence_reaper_interval_ms = 100;
    })
    .await;
    let (r1, r2) = ("room-1", "room-2");
    let mut alice_a = connect(&a, "alice").await;
    let mut alice_b = connect(&b, "alice").await;
    let mut bob_b = connect(&b, "bob").await;
    let conn_a = join(&mut alice_a, r1, "alice").await;
    let conn_b = join(&mut alice_b, r2, "alice").await;
    join(&mut bob_b, r1, "bob").await;

    let alice = get(&a, "/api/users/alice/presence").await;
    assert_eq!(alice["online"], true);
    let mut connections = alice["connections"].as_array().unwrap().clone();
    connections.sort_by_key(|c| c["rooms"][0].as_str().unwrap().to_string());
    assert_eq!(
        connections,
        vec![
            json!({ "connId": conn_a, "rooms": [r1] }),
            json!({ "connId": conn_b, "rooms": [r2] }),
        ]
    );
    let nobody = get(&b, "/api/users/nobody/presence").await;
    assert_eq!(
        (nobody["online"].clone(), nobody["connections"].clone()),
        (json!(false), json!([]))
    );

    let rooms = get(&b, "/api/rooms").await;
    assert_eq!(
        rooms["rooms"],
        json!([
            { "roomId": r1, "connections": 2, "users": 2 },
            { "roomId": r2, "connections": 1, "users": 1 },
        ])
    );
    assert_eq!(rooms["nextCursor"], Value::Null);
    // Pages.
    let first = get(&a, "/api/rooms?limit=1").await;
    assert_eq!(
        first["rooms"],
        json!([{ "roomId": r1, "connections": 2, "users": 2 }])
    );
    assert_eq!(first["nextCursor"], r1);
    let second = get(&a, &format!("/api/rooms?limit=1&cursor={r1}")).await;
    assert_eq!(
        second["rooms"],
        json!([{ "roomId": r2, "connections": 1, "users": 1 }])
    );
    assert_eq!(second["nextCursor"], Value::Null);

    // After a disconnect: bob's connection is gone from the room (alice sees his leave first).
    drop(bob_b);
    loop {
        let event = alice_a.event("presence:event").await;
        if event["type"] == "leave" && event["userId"] == "bob" {
            break;
        }
    }
    let rooms = get(&a, "/api/rooms").await;
    assert_eq!(
        rooms["rooms"][0],
        json!({ "roomId": r1, "connections": 1, "users": 1 })
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_presence_leaves_the_answers() {
    let redis = RedisServer::start();
    // A short TTL: a connection that sends no heartbeat expires within the test.
    let [a, b] = two_nodes(&redis, |c| {
        c.presence_ttl_ms = 1_000;
        c.presence_reaper_interval_ms = 100;
    })
    .await;
    let room = unique("expiry");
    let mut silent = connect(&b, "alice").await;
    let conn = join(&mut silent, &room, "alice").await;
    // Joined after alice, so alice's entry expires first and the watcher sees it go.
    let mut watcher = connect(&a, "watcher").await;
    join(&mut watcher, &room, "watcher").await;
    loop {
        let event = watcher.event("presence:event").await;
        if event["type"] == "leave" && event["connId"] == conn.as_str() {
            break;
        }
    }
    // Still connected, in no room; the room counts her no more.
    let alice = get(&a, "/api/users/alice/presence").await;
    assert_eq!(
        alice["connections"],
        json!([{ "connId": conn, "rooms": [] }]),
        "{alice}"
    );
    let rooms = get(&a, "/api/rooms").await;
    for listed in rooms["rooms"].as_array().unwrap() {
        assert!(listed["users"].as_u64() <= Some(1), "{rooms}");
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_a_user_closes_every_connection_and_announces_the_leaves() {
    let redis = RedisServer::start();
    // The default TTL (30 s): a leave seen within the test was announced, not expired.
    let [a, b] = two_nodes(&redis, |_| {}).await;
    let room = unique("ban");
    let mut bob = connect(&a, "bob").await;
    join(&mut bob, &room, "bob").await;
    let mut alice_a = connect(&a, "alice").await;
    let mut alice_b = connect(&b, "alice").await;
    let conn_a = join(&mut alice_a, &room, "alice").await;
    let conn_b = join(&mut alice_b, &room, "alice").await;

    let url = format!("{}/api/users/alice/disconnect", b.url());
    let (status, answer) = http_post(&url, Some(KEY), "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["disconnected"], 2);
    alice_a.closed().await;
    alice_b.closed().await;
    let mut left = Vec::new();
    while left.len() < 2 {
        let event = bob.event("presence:event").await;
        if event["type"] == "leave" {
            left.push(event["connId"].as_str().unwrap().to_string());
        }
    }
    left.sort();
    let mut expected = vec![conn_a, conn_b];
    expected.sort();
    assert_eq!(left, expected);
    let alice = get(&a, "/api/users/alice/presence").await;
    assert_eq!(
        (alice["online"].clone(), alice["connections"].clone()),
        (json!(false), json!([]))
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_decide_who_may_call() {
    // No key configured: the API is off.
    let off = TestServer::start(&Store::Memory, |c| c.jwt_secret = Some(SECRET.into())).await;
    for path in ["/api/users/alice/presence", "/api/rooms"] {
        let (status, body) = http_get(&format!("{}{path}", off.url()), Some(KEY)).await;
        assert_eq!(
            (status, body["code"].clone()),
            (404, json!("not_found")),
            "{path}"
        );
    }
    let (status, _) = http_post(&format!("{}/api/broadcast", off.url()), Some(KEY), "{}").await;
    assert_eq!(status, 404);
    off.stop().await;

    let server = TestServer::start(&Store::Memory, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.api_keys = vec![OLD_KEY.into(), KEY.into()];
    })
    .await;
    let url = format!("{}/api/users/alice/presence", server.url());
    let user_token = token("alice", None);
    let cases = [
        (None, 401, "unauthorized"),
        (Some("wrong"), 401, "unauthorized"),
        (Some(user_token.as_str()), 403, "forbidden"),
    ];
    for (bearer, want, code) in cases {
        let (status, body) = http_get(&url, bearer).await;
        assert_eq!(
            (status, body["code"].clone()),
            (want, json!(code)),
            "{bearer:?}"
        );
        assert_eq!(body["ok"], false);
    }
    // Either key of a rotation works.
    for key in [OLD_KEY, KEY] {
        assert_eq!(http_get(&url, Some(key)).await.0, 200, "{key}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_reserved_names_are_refused() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.api_keys = vec![KEY.into()];
        c.max_message_size_bytes = 4096;
    })
    .await;
    let url = format!("{}/api/broadcast", server.url());
    let big = json!({ "event": "big", "data": "x".repeat(5000) }).to_string();
    let cases = [
        ("not json", 400, "invalid_payload"),
        ("[1,2]", 400, "invalid_payload"),
        (r#"{"data":1}"#, 400, "invalid_payload"),
        (r#"{"event":7}"#, 400, "invalid_payload"),
        (r#"{"event":""}"#, 400, "invalid_payload"),
        (
            r#"{"event":"presence:event","data":{}}"#,
            400,
            "invalid_payload",
        ),
        (
            r#"{"event":"chat:message","data":{}}"#,
            400,
            "invalid_payload",
        ),
        (r#"{"event":"connect"}"#, 400, "invalid_payload"),
        (r#"{"event":"disconnect"}"#, 400, "invalid_payload"),
        (big.as_str(), 413, "limit_exceeded"),
    ];
    for (body, want, code) in cases {
        let (status, answer) = http_post(&url, Some(KEY), body).await;
        assert_eq!(
            (status, answer["code"].clone()),
            (want, json!(code)),
            "{body:.40}"
        );
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let too_long_id = "u".repeat(300);
    let (status, _) = http_get(
        &format!("{}/api/users/{too_long_id}/presence", server.url()),
        Some(KEY),
    )
    .await;
    assert_eq!(status, 400);
    for query in ["limit=0", "limit=abc", "limit=-1"] {
        let (status, body) =
            http_get(&format!("{}/api/rooms?{query}", server.url()), Some(KEY)).await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!("invalid_payload")),
            "{query}"
        );
    }
    // Nothing was lost: the server still answers.
    assert_eq!(
        http_post(&url, Some(KEY), r#"{"event":"fine","data":[1]}"#)
            .await
            .0,
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_patterns_in_tokens_limit_joins_and_reads() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.api_keys = vec![KEY.into()];
    })
    .await;
    let limited = token("dana", Some(&["doc:42", "team-*"]));
    let mut dana = RawSocket::connect(&server.url(), Some(json!({ "token": limited })))
        .await
        .unwrap();
    for (room, allowed) in [
        ("doc:42", true),
        ("team-red", true),
        ("doc:43", false),
        ("xteam-red", false),
    ] {
        let ack = dana
            .request(
                "presence:join",
                &json!({ "roomId": room, "userId": "dana" }),
            )
            .await;
        if allowed {
            assert_eq!(ack["ok"], true, "{room}: {ack}");
        } else {
            assert_eq!(
                (ack["ok"].clone(), ack["code"].clone()),
                (json!(false), json!("forbidden")),
                "{room}"
            );
        }
    }
    // REST reads: the token's rooms, any room with the API key, nothing without credentials.
    let unlimited = token("erin", None);
    for (room, bearer, want) in [
        ("doc:42", Some(limited.as_str()), 200),
        ("doc:43", Some(limited.as_str()), 403),
        ("doc:43", Some(unlimited.as_str()), 200),
        ("doc:43", Some(KEY), 200),
        ("doc:43", None, 401),
    ] {
        for path in [
            format!("/api/rooms/{room}/presence"),
            format!("/api/chat/{room}/history"),
        ] {
            let (status, body) = http_get(&format!("{}{path}", server.url()), bearer).await;
            assert_eq!(status, want, "{path} {bearer:?}: {body}");
            if want == 403 {
                assert_eq!(body["code"], "forbidden");
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_sdk_hears_the_backend_without_joining_a_room() {
    use futures_util::StreamExt;
    let redis = RedisServer::start();
    let [a, b] = two_nodes(&redis, |_| {}).await;
    let alice_token = token("alice", None);
    let alice =
        rtm_sdk::RealtimeClient::connect(rtm_sdk::ClientOptions::new(b.url()).auth(move || {
            let token = alice_token.clone();
            async move { Ok(json!({ "token": token })) }
        }))
        .await
        .expect("connects");
    let mut heard = alice.server_events();
    emit(&a, "/api/users/alice/events", "note", json!({ "n": 1 })).await;
    emit(&a, "/api/broadcast", "news", json!("all")).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        let event = tokio::time::timeout(rtm_tests::WAIT, heard.next())
            .await
            .expect("in time")
            .expect("the stream lasts");
        got.push((event.event, event.payload));
    }
    assert_eq!(
        got,
        vec![
            ("note".to_string(), json!({ "n": 1 })),
            ("news".to_string(), json!("all"))
        ]
    );
    alice.disconnect().await;
    a.stop().await;
    b.stop().await;
}
