//! Authentication (JWT in the handshake and on the REST API), rate limits, and hostile input.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use rtm_tests::raw::{Polling, RawSocket};
use rtm_tests::{Store, TestClient, TestServer, unique};
use serde_json::json;

const SECRET: &str = "test-secret";

fn token(sub: &str, secret: &str, exp_offset_secs: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    encode(
        &Header::default(),
        &json!({"sub": sub, "exp": now + exp_offset_secs}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn jwt_server() -> TestServer {
    TestServer::start(&Store::Memory, |c| c.jwt_secret = Some(SECRET.into())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_at_connect() {
    let server = jwt_server().await;
    let cases = [
        ("missing", None),
        ("not a token", Some(json!({"token": "abc.def.ghi"}))),
        (
            "expired",
            Some(json!({"token": token("alice", SECRET, -3600)})),
        ),
        (
            "wrongly signed",
            Some(json!({"token": token("alice", "other-secret", 3600)})),
        ),
        ("token not a string", Some(json!({"token": 42}))),
    ];
    for (what, auth) in cases {
        let err = TestClient::connect_with(&server.url(), auth)
            .await
            .err()
            .unwrap_or_else(|| panic!("a {what} token was accepted"));
        assert!(err.contains("unauthorized"), "{what}: {err}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_binds_the_user_id() {
    let server = jwt_server().await;
    let alice = TestClient::connect_with(
        &server.url(),
        Some(json!({"token": token("alice", SECRET, 3600)})),
    )
    .await
    .expect("a valid token connects");
    let room = unique("auth");
    let ack = alice
        .request("presence:join", json!({"roomId": room, "userId": "bob"}))
        .await;
    assert_eq!(ack["code"], "forbidden", "{ack}");
    let ack = alice
        .request("presence:join", json!({"roomId": room, "userId": "alice"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");

    // The REST API wants a bearer token too.
    let url = format!(
        "{}/api/rooms/{}/presence",
        server.url(),
        rtm_tests::encode_path(&room)
    );
    let (status, body) = rtm_tests::http_get(&url, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    let (status, _) = rtm_tests::http_get(&url, Some(&token("x", "other-secret", 3600))).await;
    assert_eq!(status, 401);
    let (status, body) = rtm_tests::http_get(&url, Some(&token("x", SECRET, 3600))).await;
    assert_eq!(status, 200);
    assert_eq!(body["snapshot"].as_array().unwrap().len(), 1);
    // /health stays open.
    assert_eq!(
        rtm_tests::http_get(&format!("{}/health", server.url()), None)
            .await
            .0,
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_and_others_are_unaffected() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.rate_limit_per_sec = 2.0;
        c.rate_limit_burst = 10.0;
    })
    .await;
    let room = unique("rate");
    let flooder = TestClient::connect(&server.url()).await;
    let calm = TestClient::connect(&server.url()).await;
    let jf = flooder
        .request("presence:join", json!({"roomId": room, "userId": "f"}))
        .await;
    let jc = calm
        .request("presence:join", json!({"roomId": room, "userId": "c"}))
        .await;
    let mut limited = 0;
    for _ in 0..40 {
        let hb = flooder
            .request("presence:heartbeat", json!({"epoch": jf["self"]["epoch"]}))
            .await;
        if hb["ok"] == false {
            assert_eq!(hb["code"], "rate_limited", "{hb}");
            limited += 1;
        }
    }
    assert!(limited >= 25, "only {limited} of 40 were limited");
    // The flooder is still connected and joined (its presence was not dropped)...
    let snap = calm
        .request("presence:join", json!({"roomId": room, "userId": "c"}))
        .await;
    assert_eq!(snap["snapshot"].as_array().unwrap().len(), 2);
    // ...and the calm client is served normally.
    let hb = calm
        .request(
            "presence:heartbeat",
            json!({"epoch": snap["self"]["epoch"]}),
        )
        .await;
    assert_eq!(hb["ok"], true, "{hb}");
    let _ = jc;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_never_takes_the_server_down() {
    let server = TestServer::start(&Store::Memory, |_| {}).await;
    let room = unique("hostile");
    let bystander = TestClient::connect(&server.url()).await;
    let jb = bystander
        .request("presence:join", json!({"roomId": room, "userId": "b"}))
        .await;
    let attacker = TestClient::connect(&server.url()).await;
    let deep = (0..200).fold(json!(1), |acc, _| json!([acc]));
    let payloads = [
        json!(null),
        json!(true),
        json!(1e308),
        json!({"roomId": {"$gt": ""}, "userId": ["a"]}),
        json!({"roomId": room, "userId": "a", "state": {"deep": deep}}),
        json!({"roomId": room, "userId": "a\u{0000}b"}),
        json!({"epoch": u64::MAX, "patchState": {}}),
    ];
    for event in [
        "presence:join",
        "presence:heartbeat",
        "presence:leave",
        "chat:send",
        "chat:history",
    ] {
        for payload in &payloads {
            // Without an ack, too: the server must simply not answer.
            attacker.emit(event, payload.clone()).await;
            let ack = attacker.request(event, payload.clone()).await;
            assert!(ack.is_object(), "{event} {payload}: {ack}");
        }
    }
    attacker.emit("no:such:event", json!({"x": 1})).await;
    let hb = bystander
        .request("presence:heartbeat", json!({"epoch": jb["self"]["epoch"]}))
        .await;
    assert_eq!(hb["ok"], true, "the bystander is still served");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_store_answers_unavailable_and_the_server_stays_up() {
    let redis = rtm_tests::RedisServer::start();
    let server = TestServer::start(&Store::Redis(redis.url()), |_| {}).await;
    let room = unique("lost-store");
    let client = TestClient::connect(&server.url()).await;
    let joined = client
        .request("presence:join", json!({"roomId": room, "userId": "u"}))
        .await;
    assert_eq!(joined["ok"], true, "{joined}");
    drop(redis);
    let hb = client
        .request(
            "presence:heartbeat",
            json!({"epoch": joined["self"]["epoch"], "patchState": {"s": 1}}),
        )
        .await;
    assert_eq!(hb["ok"], false, "{hb}");
    assert_eq!(hb["code"], "unavailable", "{hb}");
    let rest = reqwest::get(format!("{}/api/rooms/{room}/presence", server.url()))
        .await
        .expect("the server still answers HTTP");
    assert_eq!(rest.status(), 503);
    server.stop().await;
}

fn signed(claims: serde_json::Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_mean_what_they_say() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.jwt_issuer = Some("rtm-test".into());
        c.jwt_audience = Some("rooms".into());
    })
    .await;
    let now = now_s();
    let good = json!({"sub": "alice", "exp": now + 60, "iss": "rtm-test", "aud": "rooms"});
    let with = |patch: serde_json::Value| {
        let mut claims = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        signed(claims)
    };
    let refused = [
        (
            "expired 2 s ago (no leeway by default)",
            with(json!({"exp": now - 2})),
        ),
        (
            "not valid before a minute from now",
            with(json!({"nbf": now + 60})),
        ),
        ("no issuer", with(json!({"iss": null}))),
        ("another issuer", with(json!({"iss": "someone-else"}))),
        ("no audience", with(json!({"aud": null}))),
        ("another audience", with(json!({"aud": "billing"}))),
    ];
    for (what, token) in refused {
        let err = RawSocket::connect(&server.url(), Some(json!({ "token": token })))
            .await
            .err()
            .unwrap_or_else(|| panic!("a token {what} was accepted"));
        assert!(err.starts_with("unauthorized"), "{what}: {err}");
    }
    let ok = RawSocket::connect(
        &server.url(),
        Some(json!({ "token": signed(good.clone()) })),
    )
    .await;
    assert!(ok.is_ok(), "a valid token: {:?}", ok.err());
    // The REST API checks the same way.
    let url = format!("{}/api/rooms/r/presence", server.url());
    assert_eq!(
        rtm_tests::http_get(&url, Some(&with(json!({"nbf": now + 60}))))
            .await
            .0,
        401
    );
    assert_eq!(rtm_tests::http_get(&url, Some(&signed(good))).await.0, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_ends_when_its_token_expires() {
    let server = jwt_server().await;
    let token = signed(json!({"sub": "alice", "exp": now_s() + 1}));
    let mut socket = RawSocket::connect(&server.url(), Some(json!({ "token": token })))
        .await
        .expect("valid for a second");
    let joined = socket
        .request(
            "presence:join",
            &json!({"roomId": unique("exp"), "userId": "alice"}),
        )
        .await;
    assert_eq!(joined["ok"], true, "{joined}");
    socket.closed().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_per_connection_are_limited() {
    let server = TestServer::start(&Store::Memory, |c| c.max_rooms_per_connection = 3).await;
    let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
    let rooms: Vec<String> = (0..4).map(|_| unique("many")).collect();
    let join = |room: &str| json!({"roomId": room, "userId": "u"});
    for room in &rooms[..3] {
        assert_eq!(
            socket.request("presence:join", &join(room)).await["ok"],
            true
        );
    }
    let refused = socket.request("presence:join", &join(&rooms[3])).await;
    assert_eq!(refused["code"], "limit_exceeded", "{refused}");
    // Joining a room it is in again is no new room; leaving one makes room for another.
    assert_eq!(
        socket.request("presence:join", &join(&rooms[0])).await["ok"],
        true
    );
    let left = socket
        .request("presence:leave", &json!({"roomId": rooms[1]}))
        .await;
    assert_eq!(left["ok"], true);
    assert_eq!(
        socket.request("presence:join", &join(&rooms[3])).await["ok"],
        true
    );

    // Joins sent all at once, without waiting for acks, do not get past the limit either.
    let mut greedy = RawSocket::connect(&server.url(), None).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(
            greedy
                .emit_with_ack("presence:join", &join(&unique("burst")))
                .await,
        );
    }
    let mut joined = 0;
    for id in ids {
        let ack = greedy.ack(id).await;
        match ack["ok"].as_bool() {
            Some(true) => joined += 1,
            _ => assert_eq!(ack["code"], "limit_exceeded", "{ack}"),
        }
    }
    assert_eq!(joined, 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_close_the_connection_before_parsing() {
    let server = TestServer::start(&Store::Memory, |c| c.max_message_size_bytes = 16 * 1024).await;
    let big = "x".repeat(32 * 1024);
    let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
    socket
        .emit(
            "presence:join",
            &json!({"roomId": "r", "userId": "u", "state": {"big": big}}),
        )
        .await;
    socket.closed().await;
    // Over long-polling too.
    let polling = Polling::connect(&server.url()).await;
    let frame = format!(
        "42{}",
        json!(["presence:join", {"roomId": "r", "userId": "u", "state": {"big": big}}])
    );
    assert_ne!(polling.post(&polling.sid, &frame).await, 200);
    // Within the limit, all is well.
    let mut fine = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = fine
        .request(
            "presence:join",
            &json!({"roomId": "r", "userId": "u", "state": {"small": "x".repeat(1000)}}),
        )
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transport_that_never_connects_is_closed() {
    let server = TestServer::start(&Store::Memory, |c| c.connect_timeout_ms = 300).await;
    let mut socket = RawSocket::open(&server.url()).await;
    socket.closed().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped_and_proxies_are_believed_only_when_trusted() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.max_connections_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let a1 = RawSocket::connect_with(&server.url(), None, &from("203.0.113.7")).await;
    let a2 = RawSocket::connect_with(&server.url(), None, &from("203.0.113.7")).await;
    assert!(a1.is_ok() && a2.is_ok());
    let a3 = RawSocket::connect_with(&server.url(), None, &from("203.0.113.7")).await;
    let refused = a3
        .err()
        .expect("a third connection from one address is refused");
    assert!(refused.starts_with("limit_exceeded"), "{refused}");
    // Another address behind the same proxy is counted apart.
    assert!(
        RawSocket::connect_with(&server.url(), None, &from("203.0.113.8"))
            .await
            .is_ok()
    );
    // A connection that goes frees its place.
    a1.unwrap().drop_now().await;
    let deadline = tokio::time::Instant::now() + rtm_tests::WAIT;
    while RawSocket::connect_with(&server.url(), None, &from("203.0.113.7"))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await;

    // From an untrusted peer, the header is ignored: every client is the peer itself.
    let server = TestServer::start(&Store::Memory, |c| c.max_connections_per_ip = 2).await;
    let b1 = RawSocket::connect_with(&server.url(), None, &from("203.0.113.1")).await;
    let b2 = RawSocket::connect_with(&server.url(), None, &from("203.0.113.2")).await;
    let b3 = RawSocket::connect_with(&server.url(), None, &from("203.0.113.3")).await;
    assert!(
        b1.is_ok() && b2.is_ok() && b3.is_err(),
        "spoofed X-Forwarded-For is not believed"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_from_other_origins_are_refused() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.cors_origin = "https://app.example".into()
    })
    .await;
    let origin = |o: &'static str| [("origin", o)];
    let refused =
        RawSocket::connect_with(&server.url(), None, &origin("https://evil.example")).await;
    assert_eq!(
        refused.err().as_deref(),
        Some("handshake refused with HTTP 403")
    );
    let polling = reqwest::Client::new()
        .get(format!(
            "{}/socket.io/?EIO=4&transport=polling",
            server.url()
        ))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(polling.status().as_u16(), 403);
    let body: serde_json::Value = polling.json().await.unwrap();
    assert_eq!(body["code"], "forbidden");
    assert!(
        RawSocket::connect_with(&server.url(), None, &origin("https://app.example"))
            .await
            .is_ok()
    );
    assert!(
        RawSocket::connect(&server.url(), None).await.is_ok(),
        "no Origin: not a browser"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_request_head_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start(&Store::Memory, |c| c.connect_timeout_ms = 300).await;
    // Silent, and a head that never ends (slowloris).
    let silent = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    for (what, mut tcp) in [("silent", silent), ("slow", slow)] {
        let mut buf = [0u8; 512];
        let read = tokio::time::timeout(rtm_tests::WAIT, async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {} // a 408 answer may come before the close
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the {what} connection is still open");
    }
    // A complete request is answered as ever.
    let health = rtm_tests::http_get_json(&format!("{}/health", server.url())).await;
    assert_eq!(health["status"], "ok");
    server.stop().await;
}
