//! The presence conformance suite: every rule of the protocol, run against the in-memory store
//! against one Redis and against a Redis Cluster, with real Socket.IO clients (`rust_socketio`, a third-party client).

use rtm_tests::{Store, TestClient, TestServer, unique};
use serde_json::{Value, json};

rtm_tests::on_every_store!(
    join_answers_snapshot_and_self,
    join_is_announced_to_the_room,
    heartbeat_merges_shallowly_and_reports_changed,
    stale_and_future_epochs_are_refused,
    not_joined_after_leave_or_never,
    leave_without_payload_and_idempotent,
    disconnect_counts_as_leave,
    one_socket_in_several_rooms,
    one_user_with_several_tabs,
    rejoin_gets_a_newer_epoch,
    validation_rules_name_the_field,
    rest_snapshot_matches,
    odd_ids_and_state_keys_round_trip,
    heartbeats_sharing_a_call_keep_their_own_outcomes,
);

async fn join(client: &TestClient, room: &str, user: &str, state: Value) -> Value {
    let ack = client
        .request(
            "presence:join",
            json!({"roomId": room, "userId": user, "state": state}),
        )
        .await;
    assert_eq!(ack["ok"], true, "join failed: {ack}");
    ack
}

fn is(kind: &'static str, conn: Value) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["type"] == kind && e["connId"] == conn
}

async fn join_answers_snapshot_and_self(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let ack = join(&a, &room, "alice", json!({"status": "online"})).await;
    let me = &ack["self"];
    assert!(me["connId"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(me["epoch"].as_u64().is_some_and(|e| e > 0));
    let snapshot = ack["snapshot"].as_array().unwrap();
    assert_eq!(snapshot.len(), 1);
    let entry = &snapshot[0];
    assert_eq!(entry["connId"], me["connId"]);
    assert_eq!(entry["userId"], "alice");
    assert_eq!(entry["state"], json!({"status": "online"}));
    assert_eq!(entry["epoch"], me["epoch"]);
    assert!(
        entry["lastSeenMs"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000_000)
    );

    let b = TestClient::connect(&server.url()).await;
    let ack = join(&b, &room, "bob", json!({})).await;
    let mut users: Vec<_> = ack["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["userId"].as_str().unwrap().to_string())
        .collect();
    users.sort();
    assert_eq!(users, ["alice", "bob"]);
    let bob = ack["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["userId"] == "bob")
        .unwrap();
    assert_eq!(bob["state"], json!({}), "state defaults to an empty object");
    server.stop().await;
}

async fn join_is_announced_to_the_room(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    join(&a, &room, "alice", json!({})).await;
    let b = TestClient::connect(&server.url()).await;
    let ack = join(&b, &room, "bob", json!({"n": 1})).await;
    let conn = ack["self"]["connId"].clone();
    let event = a.expect("presence:event", is("join", conn.clone())).await;
    assert_eq!(event["roomId"], room.as_str());
    assert_eq!(event["userId"], "bob");
    assert_eq!(event["state"], json!({"n": 1}));
    assert_eq!(event["epoch"], ack["self"]["epoch"]);
    assert!(event["ts"].as_u64().is_some_and(|t| t > 1_600_000_000_000));

    // Another room hears nothing of it: a member of room2 sees its own room's events only.
    let c = TestClient::connect(&server.url()).await;
    let room2 = unique("room");
    join(&c, &room2, "carol", json!({})).await;
    let d = TestClient::connect(&server.url()).await;
    let ack_d = join(&d, &room2, "dave", json!({})).await;
    let seen = c
        .events_until(
            "presence:event",
            is("join", ack_d["self"]["connId"].clone()),
        )
        .await;
    assert!(
        seen.iter().all(|(_, e)| e["roomId"] == room2.as_str()),
        "{seen:?}"
    );
    server.stop().await;
}

async fn heartbeat_merges_shallowly_and_reports_changed(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let b = TestClient::connect(&server.url()).await;
    join(&b, &room, "bob", json!({})).await;
    let ack = join(
        &a,
        &room,
        "alice",
        json!({"status": "online", "nested": {"x": 1, "y": 2}}),
    )
    .await;
    let epoch = ack["self"]["epoch"].clone();
    let conn = ack["self"]["connId"].clone();

    // A plain heartbeat refreshes and changes nothing.
    let hb = a
        .request("presence:heartbeat", json!({"epoch": epoch}))
        .await;
    assert_eq!(hb, json!({"ok": true, "changed": false, "epoch": epoch}));

    // A patch that sets what is already there is not a change.
    let hb = a
        .request(
            "presence:heartbeat",
            json!({"epoch": epoch, "patchState": {"status": "online"}}),
        )
        .await;
    assert_eq!(hb["changed"], false);

    // A real change: shallow merge (nested objects are replaced, not merged).
    let hb = a
        .request(
            "presence:heartbeat",
            json!({"epoch": epoch, "patchState": {"typing": true, "nested": {"x": 5}}}),
        )
        .await;
    assert_eq!(hb, json!({"ok": true, "changed": true, "epoch": epoch}));

    // Exactly one update reached bob: the only update before the marker below is this one.
    let update = b.expect("presence:event", is("update", conn.clone())).await;
    assert_eq!(
        update["state"],
        json!({"status": "online", "typing": true, "nested": {"x": 5}})
    );
    assert_eq!(update["epoch"], epoch);
    assert_eq!(update["rev"], 1);
    let hb = a
        .request(
            "presence:heartbeat",
            json!({"epoch": epoch, "patchState": {"typing": false}}),
        )
        .await;
    assert_eq!(hb["changed"], true);
    let seen = b
        .events_until("presence:event", |e| {
            e["type"] == "update" && e["state"]["typing"] == false
        })
        .await;
    assert_eq!(
        seen.len(),
        1,
        "no update for the unchanged heartbeats: {seen:?}"
    );
    assert_eq!(seen[0].1["rev"], 2);

    // Precision survives the store: large integers and floats come back exactly.
    let big = json!({"big": 9007199254740993u64, "f": 0.1 + 0.2, "s": "é\"/\\"});
    a.request(
        "presence:heartbeat",
        json!({"epoch": epoch, "patchState": big}),
    )
    .await;
    let update = b
        .expect("presence:event", |e| e["state"]["big"].is_number())
        .await;
    assert_eq!(update["state"]["big"], big["big"]);
    assert_eq!(update["state"]["f"], big["f"]);
    assert_eq!(update["state"]["s"], big["s"]);
    server.stop().await;
}

async fn stale_and_future_epochs_are_refused(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let b = TestClient::connect(&server.url()).await;
    join(&b, &room, "bob", json!({})).await;
    let ack = join(&a, &room, "alice", json!({"v": 1})).await;
    let epoch = ack["self"]["epoch"].as_u64().unwrap();
    for wrong in [epoch - 1, epoch + 1, 0] {
        let hb = a
            .request(
                "presence:heartbeat",
                json!({"epoch": wrong, "patchState": {"v": 2}}),
            )
            .await;
        assert_eq!(hb["ok"], false);
        assert_eq!(hb["code"], "stale_epoch", "{hb}");
        assert!(hb["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    // Nothing changed: the state is still v=1, and the right epoch still works.
    let snap = b
        .request("presence:join", json!({"roomId": room, "userId": "bob"}))
        .await;
    let alice = snap["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["userId"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(alice["state"], json!({"v": 1}));
    assert_eq!(alice["rev"], 0);
    let hb = a
        .request("presence:heartbeat", json!({"epoch": epoch}))
        .await;
    assert_eq!(hb["ok"], true);
    server.stop().await;
}

async fn not_joined_after_leave_or_never(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let hb = a.request("presence:heartbeat", json!({"epoch": 1})).await;
    assert_eq!(hb["code"], "not_joined", "never joined: {hb}");
    let ack = join(&a, &room, "alice", json!({})).await;
    let epoch = ack["self"]["epoch"].clone();
    let left = a.request("presence:leave", json!({"roomId": room})).await;
    assert_eq!(left, json!({"ok": true}));
    let hb = a
        .request("presence:heartbeat", json!({"epoch": epoch}))
        .await;
    assert_eq!(hb["code"], "not_joined", "after leave: {hb}");
    let hb = a
        .request(
            "presence:heartbeat",
            json!({"epoch": epoch, "roomId": "elsewhere"}),
        )
        .await;
    assert_eq!(hb["code"], "not_joined", "a room never joined: {hb}");
    server.stop().await;
}

async fn leave_without_payload_and_idempotent(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let b = TestClient::connect(&server.url()).await;
    join(&b, &room, "bob", json!({})).await;
    let ack = join(&a, &room, "alice", json!({"k": "v"})).await;
    let conn = ack["self"]["connId"].clone();
    assert_eq!(
        a.request_without_payload("presence:leave").await,
        json!({"ok": true})
    );
    let event = b.expect("presence:event", is("leave", conn.clone())).await;
    assert_eq!(event["state"], Value::Null);
    assert_eq!(event["userId"], "alice");
    assert_eq!(event["epoch"], ack["self"]["epoch"]);
    // Leaving again, with null or with the room, still succeeds and announces nothing.
    assert_eq!(
        a.request("presence:leave", Value::Null).await,
        json!({"ok": true})
    );
    assert_eq!(
        a.request("presence:leave", json!({"roomId": room})).await,
        json!({"ok": true})
    );
    let snap = b
        .request("presence:join", json!({"roomId": room, "userId": "bob"}))
        .await;
    assert_eq!(
        snap["snapshot"].as_array().unwrap().len(),
        1,
        "only bob is left"
    );
    server.stop().await;
}

async fn disconnect_counts_as_leave(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let b = TestClient::connect(&server.url()).await;
    join(&b, &room, "bob", json!({})).await;
    let ack = join(&a, &room, "alice", json!({})).await;
    a.disconnect().await;
    let event = b
        .expect("presence:event", is("leave", ack["self"]["connId"].clone()))
        .await;
    assert_eq!(event["userId"], "alice");
    server.stop().await;
}

async fn one_socket_in_several_rooms(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let (r1, r2) = (unique("room"), unique("room"));
    let a = TestClient::connect(&server.url()).await;
    let watcher = TestClient::connect(&server.url()).await;
    join(&watcher, &r2, "watcher", json!({})).await;
    let one = join(&a, &r1, "alice", json!({"in": 1})).await;
    let two = join(&a, &r2, "alice", json!({"in": 2})).await;
    assert_eq!(
        one["self"]["connId"], two["self"]["connId"],
        "one connection, two rooms"
    );

    // With two rooms, heartbeat and leave need the roomId.
    let hb = a
        .request("presence:heartbeat", json!({"epoch": one["self"]["epoch"]}))
        .await;
    assert_eq!(hb["code"], "invalid_payload");
    assert!(hb["error"].as_str().unwrap().contains("roomId"));
    let hb = a.request("presence:leave", Value::Null).await;
    assert_eq!(hb["code"], "invalid_payload");

    // Each room fences with its own epoch.
    let hb = a
        .request(
            "presence:heartbeat",
            json!({"roomId": r1, "epoch": two["self"]["epoch"]}),
        )
        .await;
    assert_eq!(hb["code"], "stale_epoch");
    let hb = a
        .request(
            "presence:heartbeat",
            json!({"roomId": r2, "epoch": two["self"]["epoch"], "patchState": {"in": 22}}),
        )
        .await;
    assert_eq!(hb["changed"], true);
    let update = watcher
        .expect("presence:event", |e| e["type"] == "update")
        .await;
    assert_eq!(update["roomId"], r2.as_str());
    assert_eq!(update["state"]["in"], 22);

    // Leaving one room keeps the other; then heartbeat without roomId goes to the one left.
    assert_eq!(
        a.request("presence:leave", json!({"roomId": r2})).await["ok"],
        true
    );
    let hb = a
        .request("presence:heartbeat", json!({"epoch": one["self"]["epoch"]}))
        .await;
    assert_eq!(hb["ok"], true, "{hb}");
    server.stop().await;
}

async fn one_user_with_several_tabs(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let tab1 = TestClient::connect(&server.url()).await;
    let tab2 = TestClient::connect(&server.url()).await;
    let other = TestClient::connect(&server.url()).await;
    join(&other, &room, "bob", json!({})).await;
    let t1 = join(&tab1, &room, "alice", json!({"tab": 1})).await;
    let t2 = join(&tab2, &room, "alice", json!({"tab": 2})).await;
    assert_ne!(t1["self"]["connId"], t2["self"]["connId"]);
    let alice_entries = t2["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["userId"] == "alice")
        .count();
    assert_eq!(alice_entries, 2, "one entry per connection");
    tab1.disconnect().await;
    other
        .expect("presence:event", is("leave", t1["self"]["connId"].clone()))
        .await;
    let snap = server_snapshot(&server, &room).await;
    let users: Vec<_> = snap.iter().map(|e| e["userId"].as_str().unwrap()).collect();
    assert!(
        users.contains(&"alice"),
        "alice stays while a tab remains: {users:?}"
    );
    tab2.disconnect().await;
    other
        .expect("presence:event", is("leave", t2["self"]["connId"].clone()))
        .await;
    let snap = server_snapshot(&server, &room).await;
    assert!(snap.iter().all(|e| e["userId"] != "alice"));
    server.stop().await;
}

async fn rejoin_gets_a_newer_epoch(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let first = join(&a, &room, "alice", json!({"v": 1})).await;
    let second = join(&a, &room, "alice", json!({"v": 2})).await;
    let (e1, e2) = (
        first["self"]["epoch"].as_u64().unwrap(),
        second["self"]["epoch"].as_u64().unwrap(),
    );
    assert!(e2 > e1);
    assert_eq!(
        second["snapshot"].as_array().unwrap().len(),
        1,
        "a rejoin replaces the entry"
    );
    assert_eq!(second["snapshot"][0]["state"], json!({"v": 2}));
    let hb = a.request("presence:heartbeat", json!({"epoch": e1})).await;
    assert_eq!(hb["code"], "stale_epoch");
    a.request("presence:leave", Value::Null).await;
    let third = join(&a, &room, "alice", json!({})).await;
    assert!(
        third["self"]["epoch"].as_u64().unwrap() > e2,
        "epochs never repeat"
    );
    server.stop().await;
}

async fn validation_rules_name_the_field(store: Store) {
    let server = TestServer::start(&store, |c| c.max_state_bytes = 64).await;
    let a = TestClient::connect(&server.url()).await;
    let long = "x".repeat(257);
    let cases = [
        (json!("not an object"), "payload"),
        (json!([1, 2]), "payload"),
        (Value::Null, "payload"),
        (json!({"userId": "u"}), "roomId"),
        (json!({"roomId": "", "userId": "u"}), "roomId"),
        (json!({"roomId": 5, "userId": "u"}), "roomId"),
        (json!({"roomId": long, "userId": "u"}), "roomId"),
        (json!({"roomId": "r"}), "userId"),
        (json!({"roomId": "r", "userId": ""}), "userId"),
        (json!({"roomId": "r", "userId": {"a": 1}}), "userId"),
        (json!({"roomId": "r", "userId": long}), "userId"),
        (json!({"roomId": "r", "userId": "u", "state": "s"}), "state"),
        (json!({"roomId": "r", "userId": "u", "state": [1]}), "state"),
        (
            json!({"roomId": "r", "userId": "u", "state": {"k": "y".repeat(100)}}),
            "state",
        ),
    ];
    for (payload, field) in cases {
        let ack = a.request("presence:join", payload.clone()).await;
        assert_eq!(ack["ok"], false, "{payload} should be refused");
        assert_eq!(ack["code"], "invalid_payload", "{payload}: {ack}");
        assert!(
            ack["error"].as_str().unwrap().contains(field),
            "{payload}: {ack} should name {field}"
        );
    }
    // A 256-byte id is fine.
    join(&a, &"r".repeat(256), &"u".repeat(256), json!({})).await;
    let room = "r".repeat(256);
    let ack = a
        .request("presence:join", json!({"roomId": room, "userId": "u"}))
        .await;
    let epoch = ack["self"]["epoch"].clone();
    let hb_cases = [
        (json!({}), "epoch"),
        (json!({"epoch": -1}), "epoch"),
        (json!({"epoch": "1"}), "epoch"),
        (json!({"epoch": 1.5}), "epoch"),
        (json!({"epoch": epoch, "patchState": 3}), "patchState"),
        (
            json!({"epoch": epoch, "patchState": {"k": "y".repeat(100)}}),
            "patchState",
        ),
        (json!({"epoch": epoch, "roomId": ""}), "roomId"),
        (json!("x"), "payload"),
    ];
    for (payload, field) in hb_cases {
        let ack = a.request("presence:heartbeat", payload.clone()).await;
        assert_eq!(ack["code"], "invalid_payload", "{payload}: {ack}");
        assert!(
            ack["error"].as_str().unwrap().contains(field),
            "{payload}: {ack} should name {field}"
        );
    }
    let ack = a.request("presence:leave", json!(7)).await;
    assert_eq!(ack["code"], "invalid_payload");
    // The connection survived all of that.
    let hb = a
        .request("presence:heartbeat", json!({"epoch": epoch}))
        .await;
    assert_eq!(hb["ok"], true);
    server.stop().await;
}

async fn rest_snapshot_matches(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room with spaces/and slash");
    let a = TestClient::connect(&server.url()).await;
    let ack = join(&a, &room, "alice", json!({"s": 1})).await;
    let snap = server_snapshot(&server, &room).await;
    assert_eq!(Value::Array(snap), ack["snapshot"]);
    assert!(server_snapshot(&server, "empty-room").await.is_empty());

    // Paged: `limit` and `cursor`, as presence:members reads them.
    let b = TestClient::connect(&server.url()).await;
    join(&b, &room, "bob", json!({})).await;
    let base = format!(
        "{}/api/rooms/{}/presence",
        server.url(),
        rtm_tests::encode_path(&room)
    );
    let (status, first) = rtm_tests::http_get(&format!("{base}?limit=1"), None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (
            first["total"].as_u64(),
            first["snapshot"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1)),
        "{first}"
    );
    let cursor = first["cursor"].as_str().expect("more follow").to_string();
    let (_, last) = rtm_tests::http_get(
        &format!("{base}?cursor={}", rtm_tests::encode_path(&cursor)),
        None,
    )
    .await;
    assert_eq!(
        (last["snapshot"].as_array().map(Vec::len), &last["cursor"]),
        (Some(1), &Value::Null),
        "{last}"
    );
    assert_ne!(
        first["snapshot"][0]["connId"],
        last["snapshot"][0]["connId"]
    );
    for bad in ["?limit=0", "?limit=-1", "?limit=x", "?cursor="] {
        let (status, body) = rtm_tests::http_get(&format!("{base}{bad}"), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_payload")),
            "{bad}: {body}"
        );
    }
    server.stop().await;
}

/// Ids and state keys with newlines, braces and quotes (which the Redis layout separates with
/// newlines and hash tags) come back as they went in.
async fn odd_ids_and_state_keys_round_trip(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("{b1}:room\nwith}\"odd{");
    let user = "al\nice {b2} \"q\"";
    let state = json!({"a\nb": 1, "{c}": "x\ny", "": [1.5, null]});
    let a = TestClient::connect(&server.url()).await;
    let ack = join(&a, &room, user, state.clone()).await;
    let me = &ack["snapshot"][0];
    assert_eq!((me["userId"].as_str(), &me["state"]), (Some(user), &state));
    let epoch = ack["self"]["epoch"].clone();
    let hb = a
        .request(
            "presence:heartbeat",
            json!({"roomId": room, "epoch": epoch, "patchState": {"new\nkey": true}}),
        )
        .await;
    assert_eq!(hb["changed"], true, "{hb}");
    let b = TestClient::connect(&server.url()).await;
    let ack = join(&b, &room, "bob", json!({})).await;
    let alice = ack["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["userId"] == user)
        .expect("alice in bob's snapshot")
        .clone();
    let mut expected = state;
    expected["new\nkey"] = json!(true);
    assert_eq!(alice["state"], expected);
    assert_eq!(alice["rev"], 1);
    server.stop().await;
}

/// Heartbeats that share one Redis call (a long tick gathers them; the in-memory store has no
/// calls) each get their own outcome: a patch, a stale digest in another room, a connection that
/// never joined; then (one socket's requests take turns) the same connection's next patch and a
/// stale epoch.
async fn heartbeats_sharing_a_call_keep_their_own_outcomes(store: Store) {
    let server = TestServer::start(&store, |c| c.redis_heartbeat_tick_ms = 300).await;
    let (room, other) = (unique("room"), unique("room"));
    let a = TestClient::connect(&server.url()).await;
    let b = TestClient::connect(&server.url()).await;
    let stranger = TestClient::connect(&server.url()).await;
    let ea = join(&a, &room, "alice", json!({"v": 1})).await["self"]["epoch"]
        .as_u64()
        .unwrap();
    let eb = join(&b, &other, "bob", json!({})).await["self"]["epoch"]
        .as_u64()
        .unwrap();
    let hb = "presence:heartbeat";
    let (x, y, stale, healed, lost) = tokio::join!(
        a.request(hb, json!({"epoch": ea, "patchState": {"x": 1}})),
        a.request(hb, json!({"epoch": ea, "patchState": {"y": 2}})),
        a.request(hb, json!({"epoch": ea - 1, "patchState": {"v": 9}})),
        b.request(hb, json!({"epoch": eb, "digest": 12345})),
        stranger.request(hb, json!({"epoch": eb, "roomId": other})),
    );
    assert_eq!(x, json!({"ok": true, "changed": true, "epoch": ea}));
    assert_eq!(y, json!({"ok": true, "changed": true, "epoch": ea}));
    assert_eq!(stale["code"], "stale_epoch", "{stale}");
    assert_eq!(healed["ok"], true, "{healed}");
    assert_eq!(healed["total"], 1, "{healed}");
    assert_eq!(healed["snapshot"][0]["userId"], "bob", "{healed}");
    assert_eq!(lost["code"], "not_joined", "{lost}");
    let alice = server_snapshot(&server, &room).await;
    assert_eq!(alice.len(), 1);
    assert_eq!(alice[0]["state"], json!({"v": 1, "x": 1, "y": 2}));
    assert_eq!(alice[0]["rev"], 2);
    server.stop().await;
}

/// The room's snapshot from the REST API.
async fn server_snapshot(server: &TestServer, room: &str) -> Vec<Value> {
    let body = rtm_tests::http_get_json(&format!(
        "{}/api/rooms/{}/presence",
        server.url(),
        rtm_tests::encode_path(room)
    ))
    .await;
    assert_eq!(body["ok"], true);
    body["snapshot"].as_array().unwrap().clone()
}

/// An entry in the layout before values were kept in its meta (its state in the state hash, as a
/// node of an older version wrote it) keeps working during a rolling upgrade: a heartbeat reads
/// its state from there, merges the patch and moves it into the meta; a leave clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_in_the_older_layout_is_read_and_moved() {
    let redis = rtm_tests::RedisServer::start();
    let server = TestServer::start(&Store::Redis(redis.url()), |_| {}).await;
    let room = unique("room");
    let a = TestClient::connect(&server.url()).await;
    let b = TestClient::connect(&server.url()).await;
    let ack = join(&a, &room, "alice", json!({"v": 1})).await;
    let epoch = ack["self"]["epoch"].as_u64().unwrap();
    let conn = ack["self"]["connId"].as_str().unwrap().to_string();
    let ack = join(&b, &room, "bob", json!({"v": 7})).await;
    let (bob_epoch, bob) = (
        &ack["self"]["epoch"],
        ack["self"]["connId"].as_str().unwrap(),
    );
    let [meta, state, ..] = rtm_server::redis::keys::presence(&room);
    let mut r = ::redis::Client::open(redis.url())
        .and_then(|c| c.get_connection())
        .expect("connect to the test redis");
    let field = format!("{conn}\n\"v\"");
    let _: () = ::redis::pipe()
        .hset(&meta, &conn, format!("{epoch}\n0\n1\n\"v\"\nalice"))
        .hset(&state, &field, "1")
        .hset(&meta, bob, format!("{bob_epoch}\n0\n1\n\"v\"\nbob"))
        .hset(&state, format!("{bob}\n\"v\""), "7")
        .query(&mut r)
        .unwrap();

    let hb = a
        .request(
            "presence:heartbeat",
            json!({"epoch": epoch, "patchState": {"w": 2}}),
        )
        .await;
    assert_eq!(hb, json!({"ok": true, "changed": true, "epoch": epoch}));
    let snapshot = server_snapshot(&server, &room).await;
    let alice = snapshot.iter().find(|e| e["userId"] == "alice").unwrap();
    assert_eq!(alice["state"], json!({"v": 1, "w": 2}));
    let text: String = ::redis::cmd("HGET")
        .arg(&meta)
        .arg(&conn)
        .query(&mut r)
        .unwrap();
    assert_eq!(text, format!("={epoch}\n1\n2\n\"v\"\n1\n\"w\"\n2\nalice"));
    let moved: bool = ::redis::cmd("HEXISTS")
        .arg(&state)
        .arg(&field)
        .query(&mut r)
        .unwrap();
    assert!(!moved, "the old state field is gone once moved");

    for client in [&b, &a] {
        let left = client
            .request("presence:leave", json!({"roomId": room}))
            .await;
        assert_eq!(left["ok"], true);
    }
    let keys: Vec<String> = ::redis::cmd("KEYS").arg("rtm:p:*").query(&mut r).unwrap();
    assert!(
        keys.iter().all(|k| !k.ends_with(&format!(":{room}"))),
        "the emptied room's keys are gone: {keys:?}"
    );
    server.stop().await;
}
