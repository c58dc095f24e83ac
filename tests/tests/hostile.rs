//! A hostile client's attempts, with raw Engine.IO / Socket.IO frames over WebSocket and
//! long-polling, against the real server on both stores: hijacking a session by its public id,
//! ghosts from joins racing disconnects, a store that times out after it wrote, escaped keys and
//! huge numbers. (A burst of leaves is in burst.rs, alone, since it loads the machine.)

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use rtm_tests::raw::{Polling, RawSocket};
use rtm_tests::{
    RedisServer, Store, TestServer, WAIT, encode_path, http_get_json, on_both_stores, unique,
};
use serde_json::{Value, json};

on_both_stores!(
    public_ids_are_not_credentials,
    no_ghost_from_a_join_racing_its_disconnect,
    escaped_keys_are_valid_json,
    huge_and_negative_limits_are_clamped_or_refused,
);

/// Joins `room` as `user` and returns the ack.
async fn join(socket: &mut RawSocket, room: &str, user: &str) -> Value {
    socket
        .request("presence:join", &json!({"roomId": room, "userId": user}))
        .await
}

/// The connection ids the REST API lists in `room`.
async fn listed(server: &TestServer, room: &str) -> HashSet<String> {
    let url = format!("{}/api/rooms/{}/presence", server.url(), encode_path(room));
    let body = http_get_json(&url).await;
    body["snapshot"]
        .as_array()
        .unwrap_or_else(|| panic!("a snapshot: {body}"))
        .iter()
        .map(|e| e["connId"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until `room` lists exactly `want` (panics after [`WAIT`]).
async fn until_listed(server: &TestServer, room: &str, want: &HashSet<String>) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = listed(server, room).await;
        if &now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{room} still lists {now:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn public_ids_are_not_credentials(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("hijack");
    let victim = Polling::connect(&server.url()).await;
    let joined = victim
        .request(
            0,
            "presence:join",
            &json!({"roomId": room, "userId": "victim"}),
        )
        .await;
    assert_eq!(joined["ok"], true, "{joined}");
    let mut attacker = RawSocket::connect(&server.url(), None).await.unwrap();
    let seen = join(&mut attacker, &room, "attacker").await;
    let victim_conn = seen["snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["userId"] == "victim")
        .expect("the victim is listed")["connId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        victim_conn, victim.sid,
        "the public id is not the session id"
    );

    // Acting on the victim's transport by its public id fails, as POST and as GET.
    let forged = format!(
        "42{}",
        json!(["presence:heartbeat", {"roomId": room, "epoch": 1, "patchState": {"hacked": true}}])
    );
    assert_eq!(victim.post(&victim_conn, &forged).await, 400);
    assert_eq!(victim.get(&victim_conn).await.0, 400);

    // The victim is untouched and still speaks for itself.
    let epoch = joined["self"]["epoch"].clone();
    let beat = victim
        .request(
            1,
            "presence:heartbeat",
            &json!({"roomId": room, "epoch": epoch}),
        )
        .await;
    assert_eq!(beat["ok"], true, "{beat}");
    let snapshot = join(&mut attacker, &room, "attacker").await["snapshot"].clone();
    let state = snapshot
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["userId"] == "victim")
        .unwrap()["state"]
        .clone();
    assert_eq!(state, json!({}), "no forged state");
    server.stop().await;
}

/// How a client goes while its join is in flight.
#[derive(Debug, Clone, Copy)]
enum Going {
    /// The TCP connection closes right after the join is sent.
    Vanishes,
    /// A Socket.IO DISCONNECT follows the join (socket.io-client's `disconnect()`).
    Disconnects,
    /// It goes right after the join's ack.
    LeavesAfterAck,
}

async fn join_and_go(base: String, room: String, user: String, going: Going) {
    let mut socket = RawSocket::connect(&base, None).await.unwrap();
    let join = json!({"roomId": room, "userId": user});
    match going {
        Going::Vanishes => {
            socket.emit_with_ack("presence:join", &join).await;
        }
        Going::Disconnects => {
            socket.emit_with_ack("presence:join", &join).await;
            socket.send("41").await;
        }
        Going::LeavesAfterAck => {
            socket.request("presence:join", &join).await;
        }
    }
    socket.drop_now().await;
}

async fn no_ghost_from_a_join_racing_its_disconnect(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    for going in [Going::Vanishes, Going::Disconnects, Going::LeavesAfterAck] {
        let room = unique("race");
        let mut observer = RawSocket::connect(&server.url(), None).await.unwrap();
        let me = join(&mut observer, &room, "observer").await["self"]["connId"]
            .as_str()
            .unwrap()
            .to_string();
        // 100 interleavings, 20 at a time.
        for batch in 0..5 {
            join_all((0..20).map(|i| {
                join_and_go(
                    server.url(),
                    room.clone(),
                    format!("user-{batch}-{i}"),
                    going,
                )
            }))
            .await;
        }
        until_listed(&server, &room, &HashSet::from([me.clone()])).await;
        // Bus events are delivered in order: once a marker's join arrives, every earlier leave has.
        let mut marker = RawSocket::connect(&server.url(), None).await.unwrap();
        join(&mut marker, &room, "marker").await;
        let (mut joined, mut left) = (HashSet::new(), HashSet::new());
        loop {
            let event = observer.event("presence:event").await;
            let conn = event["connId"].as_str().unwrap().to_string();
            if event["userId"] == "marker" {
                break;
            }
            if conn == me {
                continue; // the observer's own join
            }
            match event["type"].as_str().unwrap() {
                "join" => assert!(joined.insert(conn), "one join per connection"),
                "leave" => assert!(left.insert(conn), "one leave per connection"),
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(
            joined, left,
            "{going:?}: every announced join is announced leaving"
        );
        if matches!(going, Going::LeavesAfterAck) {
            assert_eq!(joined.len(), 100, "each acked join was announced");
        }
    }
    server.stop().await;
}

async fn escaped_keys_are_valid_json(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
    let room = unique("keys");
    // Written by hand: escapes in the first key, as a stock socket.io-client sends them.
    let frame = format!(
        r#"420["presence:join",{{"roomId":"{room}","userId":"u","state":{{"say \"hi\"":1,"\u00e9":2,"C:\\path":3}}}}]"#
    );
    socket.send(&frame).await;
    let ack = socket.ack(0).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let state = &ack["snapshot"][0]["state"];
    assert_eq!(state, &json!({"say \"hi\"": 1, "é": 2, "C:\\path": 3}));
    // The first key of the payload itself escaped too.
    let frame = format!(r#"421["presence:leave",{{"room\u0049d":"{room}"}}]"#);
    socket.send(&frame).await;
    assert_eq!(socket.ack(1).await["ok"], true);
    server.stop().await;
}

async fn huge_and_negative_limits_are_clamped_or_refused(store: Store) {
    let server = TestServer::start(&store, |c| c.chat_max_history = 5).await;
    let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
    let room = unique("limits");
    join(&mut socket, &room, "u").await;
    for i in 0..7 {
        let sent = socket
            .request(
                "chat:send",
                &json!({"roomId": room, "message": format!("m{i}")}),
            )
            .await;
        assert_eq!(sent["ok"], true, "{sent}");
    }
    // Hand-written numbers: beyond i64, beyond u64, fractional, negative.
    for (limit, expect) in [
        ("18446744073709551615", Some(5)),
        ("9223372036854775808", Some(5)),
        ("100000000000000000000", None),
        ("1e300", None),
        ("2.5", None),
        ("-1", None),
        ("0", None),
        ("3", Some(3)),
    ] {
        let frame = format!(r#"429["chat:history",{{"roomId":"{room}","limit":{limit}}}]"#);
        socket.send(&frame).await;
        let ack = socket.ack(9).await;
        match expect {
            Some(n) => {
                let messages = ack["messages"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{ack}"));
                assert_eq!(messages.len(), n, "limit {limit}");
                assert_eq!(messages.last().unwrap()["message"], "m6", "limit {limit}");
            }
            None => {
                assert_eq!(ack["code"], "invalid_payload", "limit {limit}: {ack}");
                assert!(ack["error"].as_str().unwrap().contains("limit"), "{ack}");
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_join_whose_outcome_was_unknown_is_undone() {
    let redis = RedisServer::start();
    // A long TTL: expiry must not be what cleans up.
    let server =
        TestServer::start(&Store::Redis(redis.url()), |c| c.presence_ttl_ms = 120_000).await;
    let room = unique("unknown");
    let mut observer = RawSocket::connect(&server.url(), None).await.unwrap();
    let me = join(&mut observer, &room, "observer").await["self"]["connId"]
        .as_str()
        .unwrap()
        .to_string();
    redis.pause();
    let mut pending = Vec::new();
    for i in 0..20 {
        let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
        let join = json!({"roomId": room, "userId": format!("u{i}")});
        let id = socket.emit_with_ack("presence:join", &join).await;
        pending.push((socket, id));
    }
    for (socket, id) in &mut pending {
        let ack = socket.ack(*id).await;
        assert_eq!(ack["code"], "unavailable", "{ack}");
    }
    for (socket, _) in pending {
        socket.drop_now().await;
    }
    // The joins sent into the frozen store run now; each is undone, none stays listed.
    redis.resume();
    until_listed(&server, &room, &HashSet::from([me])).await;
    server.stop().await;
}
