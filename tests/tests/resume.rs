//! Resume, disconnect grace and the room digest (docs/protocol.md: "Resume", "Disconnect grace",
//! "Views heal themselves"), on the in-memory store, one Redis and a Redis Cluster, with raw
//! Socket.IO clients: a lost connection's entry waits for the grace, a resume takes it over
//! unseen, a wrong credential takes nothing, and a heartbeat's digest is answered with the
//! snapshot only when it differs from the room's.

use rtm_protocol::digest;
use rtm_tests::raw::RawSocket;
use rtm_tests::{Store, TestClient, TestServer, unique};
use serde_json::{Value, json};

rtm_tests::on_every_store!(
    a_resume_takes_the_entry_over_unseen,
    a_resume_with_a_new_state_is_one_update,
    a_wrong_token_or_another_user_joins_fresh,
    the_old_connection_is_fenced_out,
    a_lost_connection_leaves_after_the_grace_a_deliberate_one_at_once,
    a_heartbeat_digest_that_differs_gets_the_snapshot,
    a_client_that_knows_nothing_of_resume_rejoins_as_before,
);

/// A server whose lost connections wait `grace_ms`, reaped every 50 ms.
async fn server(store: &Store, grace_ms: u64) -> TestServer {
    TestServer::start(store, |c| {
        c.presence_grace_ms = grace_ms;
        c.presence_reaper_interval_ms = 50;
    })
    .await
}

async fn raw_join(socket: &mut RawSocket, room: &str, user: &str, extra: Value) -> Value {
    let mut payload = json!({ "roomId": room, "userId": user, "state": { "s": 1 } });
    if let (Value::Object(payload), Value::Object(extra)) = (&mut payload, extra) {
        payload.extend(extra);
    }
    let ack = socket.request("presence:join", &payload).await;
    assert_eq!(ack["ok"], true, "join failed: {ack}");
    ack
}

fn resume_of(ack: &Value) -> Value {
    json!({ "resume": {
        "connId": ack["self"]["connId"],
        "resumeToken": ack["self"]["resumeToken"],
    }})
}

/// What `observer` received about `conn` until `marker` joined the room.
async fn events_about(observer: &TestClient, conn: &Value, marker: &str) -> Vec<Value> {
    observer
        .events_until("presence:event", |e| {
            e["type"] == "join" && e["userId"] == marker
        })
        .await
        .into_iter()
        .filter(|(name, e)| name == "presence:event" && e["connId"] == *conn)
        .map(|(_, e)| e)
        .collect()
}

async fn observe(server: &TestServer, room: &str) -> TestClient {
    let observer = TestClient::connect(&server.url()).await;
    let ack = observer
        .request(
            "presence:join",
            json!({ "roomId": room, "userId": "observer" }),
        )
        .await;
    assert_eq!(ack["ok"], true);
    observer
}

async fn mark(server: &TestServer, room: &str, user: &str) -> TestClient {
    let marker = TestClient::connect(&server.url()).await;
    let ack = marker
        .request("presence:join", json!({ "roomId": room, "userId": user }))
        .await;
    assert_eq!(ack["ok"], true);
    marker
}

async fn a_resume_takes_the_entry_over_unseen(store: Store) {
    let server = server(&store, 30_000).await;
    let room = unique("room");
    let mut first = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = raw_join(&mut first, &room, "alice", json!({})).await;
    let conn = ack["self"]["connId"].clone();
    assert_eq!(ack["self"]["resumed"], false);
    assert!(
        ack["self"]["resumeToken"]
            .as_str()
            .is_some_and(|t| t.len() >= 32)
    );
    let observer = observe(&server, &room).await;
    first.drop_now().await;

    let mut second = RawSocket::connect(&server.url(), None).await.unwrap();
    let resumed = raw_join(&mut second, &room, "alice", resume_of(&ack)).await;
    assert_eq!(resumed["self"]["resumed"], true, "{resumed}");
    assert_eq!(
        resumed["self"]["connId"], conn,
        "the entry keeps its connId"
    );
    assert!(resumed["self"]["epoch"].as_u64() > ack["self"]["epoch"].as_u64());
    assert_ne!(resumed["self"]["resumeToken"], ack["self"]["resumeToken"]);
    let alice: Vec<&Value> = resumed["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["userId"] == "alice")
        .collect();
    assert_eq!(alice.len(), 1, "one entry for alice: {resumed}");
    assert_eq!(alice[0]["rev"], 0, "same state: rev unchanged");

    let _marker = mark(&server, &room, "marker").await;
    let seen = events_about(&observer, &conn, "marker").await;
    assert!(seen.is_empty(), "others saw the resume: {seen:?}");
    // The resumed entry is the new connection's: its heartbeat with the new epoch is answered.
    let beat = second
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": resumed["self"]["epoch"] }),
        )
        .await;
    assert_eq!(beat["ok"], true, "{beat}");
    server.stop().await;
}

async fn a_resume_with_a_new_state_is_one_update(store: Store) {
    let server = server(&store, 30_000).await;
    let room = unique("room");
    let mut first = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = raw_join(&mut first, &room, "alice", json!({})).await;
    let conn = ack["self"]["connId"].clone();
    let observer = observe(&server, &room).await;
    first.drop_now().await;

    let mut second = RawSocket::connect(&server.url(), None).await.unwrap();
    let mut extra = resume_of(&ack);
    extra["state"] = json!({ "s": 2 });
    let resumed = raw_join(&mut second, &room, "alice", extra).await;
    assert_eq!(resumed["self"]["resumed"], true);
    let _marker = mark(&server, &room, "marker").await;
    let seen = events_about(&observer, &conn, "marker").await;
    assert_eq!(seen.len(), 1, "one event: {seen:?}");
    assert_eq!(seen[0]["type"], "update");
    assert_eq!(seen[0]["state"], json!({ "s": 2 }));
    assert_eq!(seen[0]["epoch"], resumed["self"]["epoch"]);
    assert_eq!(seen[0]["rev"], 1, "rev continues");
    server.stop().await;
}

async fn a_wrong_token_or_another_user_joins_fresh(store: Store) {
    let server = server(&store, 30_000).await;
    let room = unique("room");
    let mut first = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = raw_join(&mut first, &room, "alice", json!({})).await;
    let conn = ack["self"]["connId"].clone();

    let mut thief = RawSocket::connect(&server.url(), None).await.unwrap();
    let wrong =
        json!({ "resume": { "connId": conn, "resumeToken": "0123456789abcdef0123456789abcdef" } });
    let fresh = raw_join(&mut thief, &room, "alice", wrong).await;
    assert_eq!(fresh["self"]["resumed"], false);
    assert_ne!(fresh["self"]["connId"], conn);

    let mut other = RawSocket::connect(&server.url(), None).await.unwrap();
    let fresh = raw_join(&mut other, &room, "mallory", resume_of(&ack)).await;
    assert_eq!(
        fresh["self"]["resumed"], false,
        "a token is only good for its user"
    );
    assert_ne!(fresh["self"]["connId"], conn);

    // The named entry is untouched: its owner still heartbeats with its epoch.
    let beat = first
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": ack["self"]["epoch"] }),
        )
        .await;
    assert_eq!(beat["ok"], true, "{beat}");
    // Malformed resumes are refused, naming the field.
    let bad = first
        .request(
            "presence:join",
            &json!({ "roomId": unique("r"), "userId": "alice", "resume": "x" }),
        )
        .await;
    assert_eq!(bad["code"], "invalid_payload", "{bad}");
    server.stop().await;
}

async fn the_old_connection_is_fenced_out(store: Store) {
    let server = server(&store, 30_000).await;
    let room = unique("room");
    let mut old = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = raw_join(&mut old, &room, "alice", json!({})).await;
    // A half-open connection: the client already came back on a new one.
    let mut new = RawSocket::connect(&server.url(), None).await.unwrap();
    let resumed = raw_join(&mut new, &room, "alice", resume_of(&ack)).await;
    assert_eq!(resumed["self"]["resumed"], true);

    let beat = old
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": ack["self"]["epoch"] }),
        )
        .await;
    assert_eq!(beat["code"], "stale_epoch", "{beat}");
    // The old connection's leave (of its epoch, as its disconnect's) leaves the resumed entry
    // alone.
    let left = old
        .request("presence:leave", &json!({ "roomId": room }))
        .await;
    assert_eq!(left["ok"], true);
    let beat = new
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": resumed["self"]["epoch"] }),
        )
        .await;
    assert_eq!(beat["ok"], true, "the resumed entry stands: {beat}");
    server.stop().await;
}

async fn a_lost_connection_leaves_after_the_grace_a_deliberate_one_at_once(store: Store) {
    let server = server(&store, 1_500).await;
    let room = unique("room");
    let observer = observe(&server, &room).await;
    let mut lost = RawSocket::connect(&server.url(), None).await.unwrap();
    let lost_ack = raw_join(&mut lost, &room, "lost", json!({})).await;
    let mut polite = RawSocket::connect(&server.url(), None).await.unwrap();
    let polite_ack = raw_join(&mut polite, &room, "polite", json!({})).await;

    lost.drop_now().await;
    polite.send("41").await; // a Socket.IO DISCONNECT, as socket.io-client's disconnect()

    let leaves: Vec<Value> = observer
        .events_until("presence:event", |e| {
            e["type"] == "leave" && e["userId"] == "lost"
        })
        .await
        .into_iter()
        .filter(|(name, e)| name == "presence:event" && e["type"] == "leave")
        .map(|(_, e)| e["connId"].clone())
        .collect();
    assert_eq!(
        leaves,
        [
            polite_ack["self"]["connId"].clone(),
            lost_ack["self"]["connId"].clone()
        ],
        "the deliberate leave at once, the lost one after the grace"
    );
    server.stop().await;
}

async fn a_heartbeat_digest_that_differs_gets_the_snapshot(store: Store) {
    let server = server(&store, 0).await;
    let room = unique("room");
    let mut a = RawSocket::connect(&server.url(), None).await.unwrap();
    raw_join(&mut a, &room, "alice", json!({})).await;
    let mut b = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = raw_join(&mut b, &room, "bob", json!({})).await;
    let epoch = ack["self"]["epoch"].clone();
    let digest_of = |snapshot: &Value| {
        digest::of(
            snapshot
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["connId"].as_str().unwrap(), e["rev"].as_u64().unwrap())),
        )
    };
    let right = digest_of(&ack["snapshot"]);

    // The server's digest (kept by the scripts) equals the SDK's over the same entries.
    let beat = b
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": epoch, "digest": right, "patchState": { "s": 9 } }),
        )
        .await;
    assert_eq!(beat["ok"], true, "{beat}");
    assert!(
        beat.get("snapshot").is_none(),
        "no snapshot for a matching digest: {beat}"
    );

    // After the update (bob's rev 1), the stale digest differs: the answer has the snapshot.
    let beat = b
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": epoch, "digest": right }),
        )
        .await;
    let snapshot = &beat["snapshot"];
    assert_eq!(snapshot.as_array().map(Vec::len), Some(2), "{beat}");
    let current = digest_of(snapshot);
    assert_ne!(current, right);
    let beat = b
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": epoch, "digest": current }),
        )
        .await;
    assert!(beat.get("snapshot").is_none(), "{beat}");

    // A leave takes the entry out of the digest too.
    a.request("presence:leave", &json!({ "roomId": room }))
        .await;
    let beat = b
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": epoch, "digest": current }),
        )
        .await;
    let snapshot = &beat["snapshot"];
    assert_eq!(snapshot.as_array().map(Vec::len), Some(1), "{beat}");
    let alone = digest_of(snapshot);
    let beat = b
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": epoch, "digest": alone }),
        )
        .await;
    assert!(beat.get("snapshot").is_none(), "{beat}");
    let bad = b
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": epoch, "digest": -1 }),
        )
        .await;
    assert_eq!(bad["code"], "invalid_payload", "{bad}");
    server.stop().await;
}

/// A client that knows nothing of resume (the TypeScript SDK, socket.io-client) reconnects and
/// joins as it always did: it gets a new entry (announced), its answers decode as before, and its
/// old entry leaves after the grace.
async fn a_client_that_knows_nothing_of_resume_rejoins_as_before(store: Store) {
    let server = server(&store, 500).await;
    let room = unique("room");
    let observer = observe(&server, &room).await;
    let mut first = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = raw_join(&mut first, &room, "alice", json!({})).await;
    let old = ack["self"]["connId"].clone();
    first.drop_now().await;

    let mut second = RawSocket::connect(&server.url(), None).await.unwrap();
    let again = raw_join(&mut second, &room, "alice", json!({})).await;
    let new = again["self"]["connId"].clone();
    assert_ne!(new, old);
    assert_eq!(again["self"]["resumed"], false);
    let beat = second
        .request(
            "presence:heartbeat",
            &json!({ "roomId": room, "epoch": again["self"]["epoch"], "patchState": { "s": 2 } }),
        )
        .await;
    assert_eq!(
        beat,
        json!({ "ok": true, "changed": true, "epoch": again["self"]["epoch"] })
    );

    let seen: Vec<(String, Value)> = observer
        .events_until("presence:event", |e| {
            e["type"] == "leave" && e["connId"] == old
        })
        .await
        .into_iter()
        .filter(|(name, e)| name == "presence:event" && e["userId"] == "alice")
        .map(|(_, e)| (e["type"].as_str().unwrap().to_string(), e["connId"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("join".to_string(), old.clone()),
            ("join".to_string(), new.clone()),
            ("update".to_string(), new),
            ("leave".to_string(), old),
        ],
        "the new entry joins at once, the old one leaves after the grace"
    );
    server.stop().await;
}
