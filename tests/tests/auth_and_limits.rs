//! Authentication (JWT in the handshake and on the REST API), rate limits, and hostile input.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
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
