//! Large rooms (docs/protocol.md, "Large rooms"): `"count"` members, paged snapshots,
//! `presence:members`, batched `presence:events`, on every store, frame by frame with raw
//! Socket.IO clients; and a lost connection's deadline, which the grace never pushes past its TTL.

use std::collections::HashSet;

use rtm_tests::raw::RawSocket;
use rtm_tests::{Store, TestServer, unique};
use serde_json::{Value, json};

rtm_tests::on_every_store!(
    count_members_receive_only_counts,
    pages_cover_the_room_once_while_members_come_and_go,
    batches_keep_order_and_lose_nothing_legacy_members_get_single_events,
    malformed_paging_and_levels_are_refused,
    a_batched_members_digest_waits_for_its_window_once,
    a_lost_connection_leaves_at_its_ttl_when_that_comes_before_the_grace,
);

/// A raw client joined to `room` as `user`, with `extra` join fields; returns it and the ack.
async fn joined(server: &TestServer, room: &str, user: &str, extra: Value) -> (RawSocket, Value) {
    let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = join(&mut socket, room, user, extra).await;
    (socket, ack)
}

async fn join(socket: &mut RawSocket, room: &str, user: &str, extra: Value) -> Value {
    let mut payload = json!({ "roomId": room, "userId": user, "state": { "u": user } });
    if let (Value::Object(payload), Value::Object(extra)) = (&mut payload, extra) {
        payload.extend(extra);
    }
    let ack = socket.request("presence:join", &payload).await;
    assert_eq!(ack["ok"], true, "join failed: {ack}");
    ack
}

fn conn_of(ack: &Value) -> String {
    ack["self"]["connId"].as_str().unwrap().to_string()
}

/// Reads frames until `done` holds for the events kept so far; returns them (and clears them).
async fn events_until(
    socket: &mut RawSocket,
    done: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    tokio::time::timeout(rtm_tests::WAIT, async {
        while !done(&socket.events) {
            socket.recv().await.expect("the socket stays open");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not there in time; got {:?}", socket.events));
    std::mem::take(&mut socket.events)
}

/// The `presence:event` payloads among `events`, with those of `presence:events` batches
/// flattened in order.
fn presence_events(events: &[(String, Value)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, data) in events {
        match name.as_str() {
            "presence:event" => out.push(data.clone()),
            "presence:events" => out.extend(data["events"].as_array().unwrap().iter().cloned()),
            _ => {}
        }
    }
    out
}

async fn count_members_receive_only_counts(store: Store) {
    let server = TestServer::start(&store, |c| c.presence_count_interval_ms = 100).await;
    let room = unique("stage");
    let (mut observer, _) = joined(&server, &room, "observer", json!({})).await;
    let (mut audience, ack) = joined(&server, &room, "fan", json!({ "presence": "count" })).await;
    assert_eq!(ack["snapshot"], json!([]), "no entries for a count member");
    assert_eq!(ack["total"], 2);
    assert_eq!(ack["cursor"], Value::Null);
    // Its count, right with its join.
    assert_eq!(
        audience.event("presence:count").await,
        json!({ "roomId": room, "count": 2 })
    );
    // An events member sees the count member like any other.
    let fan = conn_of(&ack);
    events_until(&mut observer, |events| {
        presence_events(events)
            .iter()
            .any(|e| e["type"] == "join" && e["connId"] == fan.as_str())
    })
    .await;

    // Two more come, one updates its state, one goes: the audience hears counts only.
    let (mut third, third_ack) = joined(&server, &room, "third", json!({})).await;
    let (mut fourth, _) = joined(&server, &room, "fourth", json!({})).await;
    let epoch = third_ack["self"]["epoch"].clone();
    let beat = third
        .request(
            "presence:heartbeat",
            &json!({ "epoch": epoch, "patchState": { "hand": true } }),
        )
        .await;
    assert_eq!(beat["changed"], true);
    let seen = events_until(&mut audience, |events| {
        events.iter().any(|(_, e)| e["count"] == 4)
    })
    .await;
    let left = fourth
        .request("presence:leave", &json!({ "roomId": room }))
        .await;
    assert_eq!(left["ok"], true);
    let later = events_until(&mut audience, |events| {
        events.iter().any(|(_, e)| e["count"] == 3)
    })
    .await;
    for (name, data) in seen.iter().chain(&later) {
        assert_eq!(name, "presence:count", "a count member got {name}: {data}");
        assert_eq!(data["roomId"], room.as_str());
    }
    // Counts are sent when they changed: never the same number twice in a row.
    let counts: Vec<u64> = seen
        .iter()
        .chain(&later)
        .map(|(_, e)| e["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] != w[1]), "{counts:?}");
    // Its heartbeat never carries a snapshot, whatever digest it sends.
    let beat = audience
        .request(
            "presence:heartbeat",
            &json!({ "epoch": ack["self"]["epoch"], "digest": 1 }),
        )
        .await;
    assert_eq!(
        (beat["ok"].as_bool(), beat.get("snapshot")),
        (Some(true), None),
        "{beat}"
    );
    server.stop().await;
}

async fn pages_cover_the_room_once_while_members_come_and_go(store: Store) {
    let server = TestServer::start(&store, |c| c.presence_snapshot_page = 3).await;
    let room = unique("meeting");
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(joined(&server, &room, &format!("m{i}"), json!({})).await);
    }
    let (mut reader, ack) = joined(&server, &room, "reader", json!({})).await;
    assert_eq!(ack["total"], 9);
    let first: Vec<String> = entries(&ack["snapshot"]);
    assert_eq!(first.len(), 3, "{ack}");
    assert_eq!(ack["cursor"].as_str(), first.last().map(String::as_str));

    // Between pages: the member with the greatest connId leaves (its page is still to come),
    // and a newcomer joins.
    let mut all: Vec<(String, usize)> = members
        .iter()
        .enumerate()
        .map(|(i, (_, a))| (conn_of(a), i))
        .collect();
    all.sort();
    let (gone_conn, gone_index) = all.last().cloned().unwrap();
    let (mut gone, _) = members.remove(gone_index);
    assert_eq!(
        gone.request("presence:leave", &json!({ "roomId": room }))
            .await["ok"],
        true
    );
    let (_newcomer, new_ack) = joined(&server, &room, "newcomer", json!({})).await;

    let mut listed = first.clone();
    let mut cursor = ack["cursor"].clone();
    let mut pages = 1;
    while !cursor.is_null() {
        let page = reader
            .request(
                "presence:members",
                &json!({ "roomId": room, "cursor": cursor, "limit": 2 }),
            )
            .await;
        assert_eq!(page["ok"], true, "{page}");
        let entries = entries(&page["snapshot"]);
        assert!(entries.len() <= 2, "the limit is kept: {page}");
        listed.extend(entries);
        cursor = page["cursor"].clone();
        pages += 1;
        assert!(pages < 20, "paging does not end");
    }
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "pages follow connId order, each entry once");
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "listed twice: {listed:?}");
    // Everyone present throughout is listed; the one that left before its page is not.
    for (_, ack) in &members {
        assert!(listed.contains(&conn_of(ack)), "missing {}", conn_of(ack));
    }
    assert!(listed.contains(&conn_of(&ack)), "the reader lists itself");
    assert!(
        !listed.contains(&gone_conn),
        "a member that left before its page is listed"
    );
    // The reader's events tell it about the newcomer, whichever page it fell on.
    let events = events_until(&mut reader, |events| {
        presence_events(events)
            .iter()
            .any(|e| e["connId"] == new_ack["self"]["connId"])
    })
    .await;
    assert!(!events.is_empty());
    server.stop().await;
}

fn entries(snapshot: &Value) -> Vec<String> {
    snapshot
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["connId"].as_str().unwrap().to_string())
        .collect()
}

async fn batches_keep_order_and_lose_nothing_legacy_members_get_single_events(store: Store) {
    let server = TestServer::start(&store, |c| c.presence_batch_ms = 300).await;
    let room = unique("room");
    let (mut batched, _) = joined(&server, &room, "batched", json!({ "batch": true })).await;
    let (mut legacy, _) = joined(&server, &room, "legacy", json!({})).await;
    let (mut actor, actor_ack) = joined(&server, &room, "actor", json!({})).await;
    let epoch = actor_ack["self"]["epoch"].clone();
    for n in 1..=10 {
        let beat = actor
            .request(
                "presence:heartbeat",
                &json!({ "epoch": epoch, "patchState": { "n": n } }),
            )
            .await;
        assert_eq!(beat["changed"], true, "{beat}");
    }
    let (late, late_ack) = joined(&server, &room, "late", json!({})).await;
    drop(late);
    let late_conn = late_ack["self"]["connId"].clone();
    let done = |events: &[(String, Value)]| {
        presence_events(events)
            .iter()
            .any(|e| e["type"] == "leave" && e["connId"] == late_conn)
    };
    let got_batched = events_until(&mut batched, done).await;
    let got_legacy = events_until(&mut legacy, done).await;

    // The legacy member: one presence:event per change, no batch.
    assert!(
        got_legacy.iter().all(|(name, _)| name != "presence:events"),
        "{got_legacy:?}"
    );
    // The batched member: batches only, fewer frames than events, the same events in order.
    assert!(
        got_batched.iter().all(|(name, _)| name != "presence:event"),
        "{got_batched:?}"
    );
    // (Each member also hears its own join; the legacy one joined after the batched one.)
    let after_legacy_joined = |events: Vec<Value>| -> Vec<Value> {
        events
            .into_iter()
            .filter(|e| e["userId"] != "batched" && e["userId"] != "legacy")
            .collect()
    };
    let flat_batched = after_legacy_joined(presence_events(&got_batched));
    let flat_legacy = after_legacy_joined(presence_events(&got_legacy));
    assert_eq!(
        flat_batched, flat_legacy,
        "a batch is the same events in the same order"
    );
    let frames = got_batched
        .iter()
        .filter(|(name, _)| name == "presence:events")
        .count();
    assert!(
        frames < flat_batched.len(),
        "{frames} frames for {} events",
        flat_batched.len()
    );
    for (_, batch) in &got_batched {
        assert_eq!(batch["roomId"], room.as_str());
    }
    let updates: Vec<Value> = flat_batched
        .iter()
        .filter(|e| e["type"] == "update")
        .map(|e| e["state"]["n"].clone())
        .collect();
    assert_eq!(updates, (1..=10).map(Value::from).collect::<Vec<_>>());
    server.stop().await;
}

async fn malformed_paging_and_levels_are_refused(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("room");
    let (mut member, _) = joined(&server, &room, "member", json!({})).await;
    for bad in [
        json!({ "roomId": room }),
        json!({ "roomId": room, "cursor": 7 }),
        json!({ "roomId": room, "cursor": "" }),
        json!({ "roomId": room, "cursor": "x".repeat(300) }),
        json!({ "roomId": room, "cursor": "a", "limit": 0 }),
        json!({ "roomId": room, "cursor": "a", "limit": -1 }),
        json!({ "roomId": room, "cursor": "a", "limit": "10" }),
        json!({ "roomId": room, "cursor": "a", "limit": 1.5 }),
    ] {
        let ack = member.request("presence:members", &bad).await;
        assert_eq!(
            (ack["ok"].as_bool(), ack["code"].as_str()),
            (Some(false), Some("invalid_payload")),
            "{bad} → {ack}"
        );
    }
    let huge = member
        .request(
            "presence:members",
            &json!({ "roomId": room, "cursor": "a", "limit": u64::MAX }),
        )
        .await;
    assert_eq!(huge["ok"], true, "a huge limit is clamped: {huge}");
    let elsewhere = member
        .request(
            "presence:members",
            &json!({ "roomId": unique("other"), "cursor": "a" }),
        )
        .await;
    assert_eq!(elsewhere["code"], "not_joined", "{elsewhere}");
    for bad in [
        json!({ "presence": "all" }),
        json!({ "presence": 1 }),
        json!({ "batch": "yes" }),
    ] {
        let mut payload = json!({ "roomId": room, "userId": "x" });
        payload
            .as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        let ack = member.request("presence:join", &payload).await;
        assert_eq!(ack["code"], "invalid_payload", "{payload} → {ack}");
    }
    server.stop().await;
}

/// A client that froze (no heartbeat) and then lost its connection leaves at its TTL deadline,
/// not a grace after the loss.
async fn a_lost_connection_leaves_at_its_ttl_when_that_comes_before_the_grace(store: Store) {
    const TTL_MS: u64 = 2_000;
    let server = TestServer::start(&store, |c| {
        c.presence_ttl_ms = TTL_MS;
        c.presence_grace_ms = TTL_MS;
        c.presence_reaper_interval_ms = 50;
    })
    .await;
    let room = unique("room");
    let (mut observer, observer_ack) = joined(&server, &room, "observer", json!({})).await;
    let (frozen, ack) = joined(&server, &room, "frozen", json!({})).await;
    let joined_at = std::time::Instant::now();
    let conn = conn_of(&ack);
    let beat = json!({ "roomId": room, "epoch": observer_ack["self"]["epoch"] });
    // The observer heartbeats; the frozen client is silent for most of its TTL (the scenario,
    // not a wait for an event), then its connection goes: with the grace counted from then on,
    // it would stay until about 3.2 s.
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(300));
    let mut frozen = Some(frozen);
    let left = |events: &[(String, Value)]| {
        presence_events(events)
            .iter()
            .any(|e| e["type"] == "leave" && e["connId"] == conn.as_str())
    };
    tokio::time::timeout(rtm_tests::WAIT, async {
        while !left(&observer.events) {
            tokio::select! {
                _ = ticks.tick() => {
                    let answer = observer.request("presence:heartbeat", &beat).await;
                    assert_eq!(answer["ok"], true, "{answer}");
                    if joined_at.elapsed() >= std::time::Duration::from_millis(1_200)
                        && let Some(frozen) = frozen.take()
                    {
                        frozen.drop_now().await;
                    }
                }
                frame = observer.recv() => assert!(frame.is_some(), "the observer stays connected"),
            }
        }
    })
    .await
    .expect("the frozen client leaves");
    let after = joined_at.elapsed();
    assert!(
        after < std::time::Duration::from_millis(TTL_MS + 700),
        "left {after:?} after its last heartbeat, TTL {TTL_MS} ms"
    );
    server.stop().await;
}

/// A batched member's view lags the events of the current window by design: its heartbeat digest
/// is not compared while the window holds events for it, once; the next heartbeat is, and the
/// window's events reach it before the answer's snapshot.
async fn a_batched_members_digest_waits_for_its_window_once(store: Store) {
    let server = TestServer::start(&store, |c| c.presence_batch_ms = 5_000).await;
    let room = unique("room");
    let (mut batched, ack) = joined(&server, &room, "batched", json!({ "batch": true })).await;
    let (mut actor, actor_ack) = joined(&server, &room, "actor", json!({})).await;
    let patch = json!({ "epoch": actor_ack["self"]["epoch"], "patchState": { "n": 1 } });
    assert_eq!(
        actor.request("presence:heartbeat", &patch).await["changed"],
        true
    );
    // A digest that cannot match: the room has two entries.
    let beat = json!({ "epoch": ack["self"]["epoch"], "digest": 1 });
    let first = batched.request("presence:heartbeat", &beat).await;
    assert_eq!(
        (first["ok"].as_bool(), first.get("snapshot")),
        (Some(true), None),
        "{first}"
    );
    assert!(
        batched.events.is_empty(),
        "the window is still open: {:?}",
        batched.events
    );
    let second = batched.request("presence:heartbeat", &beat).await;
    assert_eq!(
        second["snapshot"].as_array().map(Vec::len),
        Some(2),
        "{second}"
    );
    let updates: Vec<Value> = presence_events(&batched.events)
        .into_iter()
        .filter(|e| e["type"] == "update")
        .collect();
    assert_eq!(
        updates.len(),
        1,
        "the window's events came first: {:?}",
        batched.events
    );
    server.stop().await;
}
