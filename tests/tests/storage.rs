//! Room storage (docs/protocol.md, "Room storage") on every store (memory; one Redis with two
//! nodes; a Redis Cluster with two nodes), frame by frame with raw Socket.IO clients:
//! compare-and-set, announcements across nodes in order and once, limits and codes, a write
//! racing a leave or a disconnect, concurrent increments that end exact, the backend API and
//! modules writing like members, and reads that cross writes.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::Method;
use rtm_server::{AckError, Module, ModuleContext};
use rtm_tests::raw::RawSocket;
use rtm_tests::{Store, TestServer, encode_path, http_get, http_send, unique};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

rtm_tests::on_every_store!(
    compare_and_set_decides_each_write,
    changes_reach_every_member_on_every_node_once_in_order,
    bad_requests_and_limits_are_refused_with_their_codes,
    a_write_racing_a_leave_or_a_disconnect_is_all_or_nothing,
    concurrent_increments_on_two_nodes_end_exact,
    a_whole_room_read_and_the_changes_after_its_rev_give_the_room,
    the_backend_and_modules_write_like_members,
    storage_is_forgotten_after_its_ttl_and_rev_never_goes_back,
);

const KEY: &str = "backend-key";

/// Two servers on a Redis store; one on the memory store (its clients all on it).
async fn nodes(store: &Store, tweak: impl Fn(&mut rtm_server::Config)) -> Vec<TestServer> {
    let start = || TestServer::start_with("127.0.0.1:0", store, &tweak, |s| s.module(Bump));
    match store {
        Store::Memory => vec![start().await],
        Store::Redis(_) => vec![start().await, start().await],
    }
}

/// A raw client on `server`, joined to `room` as `user`.
async fn member(server: &TestServer, room: &str, user: &str) -> RawSocket {
    let mut socket = RawSocket::connect(&server.url(), None).await.unwrap();
    let ack = socket
        .request("presence:join", &json!({ "roomId": room, "userId": user }))
        .await;
    assert_eq!(ack["ok"], true, "join: {ack}");
    socket
}

async fn set(
    socket: &mut RawSocket,
    room: &str,
    key: &str,
    value: Value,
    if_version: Option<u64>,
) -> Value {
    let mut payload = json!({ "roomId": room, "key": key, "value": value });
    if let Some(v) = if_version {
        payload["ifVersion"] = v.into();
    }
    socket.request("storage:set", &payload).await
}

async fn get(socket: &mut RawSocket, room: &str, key: &str) -> Value {
    socket
        .request("storage:get", &json!({ "roomId": room, "key": key }))
        .await
}

async fn entries(socket: &mut RawSocket, room: &str) -> Value {
    let all = socket
        .request("storage:get", &json!({ "roomId": room }))
        .await;
    assert_eq!(all["ok"], true, "{all}");
    all
}

/// The `storage:changed` events `socket` gets until `done` holds for them.
async fn changes_until(socket: &mut RawSocket, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let changes = |events: &[(String, Value)]| -> Vec<Value> {
        events
            .iter()
            .filter(|(name, _)| name == "storage:changed")
            .map(|(_, data)| data.clone())
            .collect()
    };
    tokio::time::timeout(rtm_tests::WAIT, async {
        while !done(&changes(&socket.events)) {
            socket.recv().await.expect("the socket stays open");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not there in time; got {:?}", socket.events));
    let seen = changes(&socket.events);
    socket.events.retain(|(name, _)| name != "storage:changed");
    seen
}

async fn compare_and_set_decides_each_write(store: Store) {
    let servers = nodes(&store, |_| {}).await;
    let room = unique("cas");
    let mut alice = member(&servers[0], &room, "alice").await;

    assert_eq!(
        get(&mut alice, &room, "k").await,
        json!({ "ok": true, "value": null, "version": 0 })
    );
    assert_eq!(
        set(&mut alice, &room, "k", json!({ "n": 1 }), Some(0)).await,
        json!({ "ok": true, "version": 1 })
    );
    // "Only if absent" once it exists: a conflict that carries the key as it is.
    let conflict = set(&mut alice, &room, "k", json!({ "n": 9 }), Some(0)).await;
    assert_eq!(conflict["ok"], false);
    assert_eq!(conflict["code"], "conflict");
    assert_eq!(
        conflict["current"],
        json!({ "value": { "n": 1 }, "version": 1 })
    );
    assert_eq!(
        set(&mut alice, &room, "k", json!("two"), None).await["version"],
        2
    );
    assert_eq!(
        set(&mut alice, &room, "k", json!(3), Some(2)).await["version"],
        3
    );
    assert_eq!(
        set(&mut alice, &room, "k", json!(4), Some(2)).await["code"],
        "conflict"
    );
    assert_eq!(
        get(&mut alice, &room, "k").await,
        json!({ "ok": true, "value": 3, "version": 3 })
    );

    // A write never touches other keys.
    assert_eq!(
        set(&mut alice, &room, "other", json!([1, 2]), None).await["version"],
        1
    );
    assert_eq!(
        set(&mut alice, &room, "k", json!(5), None).await["version"],
        4
    );
    let all = entries(&mut alice, &room).await;
    assert_eq!(
        all["entries"],
        json!({ "k": { "value": 5, "version": 4 }, "other": { "value": [1, 2], "version": 1 } })
    );
    assert!(all["rev"].as_u64().unwrap() > 0);

    // Deletes: conditional too; absent keys are not an error, and come back at version 1.
    let delete = |if_version: Option<u64>| {
        let mut payload = json!({ "roomId": room, "key": "k" });
        if let Some(v) = if_version {
            payload["ifVersion"] = v.into();
        }
        payload
    };
    let refused = alice.request("storage:delete", &delete(Some(3))).await;
    assert_eq!(
        (&refused["code"], &refused["current"]["version"]),
        (&json!("conflict"), &json!(4))
    );
    assert_eq!(
        alice.request("storage:delete", &delete(Some(4))).await,
        json!({ "ok": true, "deleted": true })
    );
    assert_eq!(
        alice.request("storage:delete", &delete(None)).await,
        json!({ "ok": true, "deleted": false })
    );
    assert_eq!(
        alice.request("storage:delete", &delete(Some(0))).await,
        json!({ "ok": true, "deleted": false })
    );
    assert_eq!(
        alice.request("storage:delete", &delete(Some(1))).await["current"],
        json!({ "value": null, "version": 0 })
    );
    assert_eq!(get(&mut alice, &room, "k").await["version"], 0);
    assert_eq!(
        set(&mut alice, &room, "k", json!("again"), Some(0)).await["version"],
        1
    );
    // Any JSON but null, keys with any characters.
    for (key, value) in [
        ("ünï {code}", json!(false)),
        ("a/b?c", json!(0)),
        ("s", json!("x\"y")),
    ] {
        assert_eq!(
            set(&mut alice, &room, key, value.clone(), None).await["ok"],
            true
        );
        assert_eq!(get(&mut alice, &room, key).await["value"], value);
    }
    for server in servers {
        server.stop().await;
    }
}

async fn changes_reach_every_member_on_every_node_once_in_order(store: Store) {
    let servers = nodes(&store, |_| {}).await;
    let last = servers.len() - 1;
    let room = unique("changes");
    let mut alice = member(&servers[0], &room, "alice").await;
    let mut bob = member(&servers[last], &room, "bob").await;
    let mut count = RawSocket::connect(&servers[last].url(), None)
        .await
        .unwrap();
    let ack = count
        .request(
            "presence:join",
            &json!({ "roomId": room, "userId": "c", "presence": "count" }),
        )
        .await;
    assert_eq!(ack["ok"], true);
    // Not in the room: hears nothing of it.
    let elsewhere = unique("elsewhere");
    let mut outsider = member(&servers[last], &elsewhere, "eve").await;

    for n in 1..=5 {
        assert_eq!(
            set(&mut alice, &room, "k", json!(n), None).await["version"],
            n
        );
    }
    let deleted = alice
        .request("storage:delete", &json!({ "roomId": room, "key": "k" }))
        .await;
    assert_eq!(deleted["deleted"], true);
    // A marker on another key: once it is seen, everything before it has been.
    assert_eq!(
        set(&mut alice, &room, "done", json!(true), None).await["ok"],
        true
    );

    for socket in [&mut alice, &mut bob, &mut count] {
        let seen = changes_until(socket, |c| c.iter().any(|e| e["key"] == "done")).await;
        let on_k: Vec<(Value, Value)> = seen
            .iter()
            .filter(|e| e["key"] == "k")
            .map(|e| (e["value"].clone(), e["version"].clone()))
            .collect();
        let expected: Vec<(Value, Value)> = (1..=5)
            .map(|n| (json!(n), json!(n)))
            .chain([(Value::Null, json!(0))])
            .collect();
        assert_eq!(on_k, expected, "once each, in the order of the writes");
        let revs: Vec<u64> = seen.iter().map(|e| e["rev"].as_u64().unwrap()).collect();
        assert!(revs.windows(2).all(|w| w[0] < w[1]), "revs grow: {revs:?}");
        for change in &seen {
            assert_eq!(
                (&change["roomId"], &change["userId"]),
                (&json!(room), &json!("alice"))
            );
        }
    }
    // A request of the outsider answered after all of the above: nothing of the room came first.
    let refused = outsider
        .request("storage:get", &json!({ "roomId": room }))
        .await;
    assert_eq!(refused["code"], "not_joined", "a non-member may not read");
    assert_eq!(
        entries(&mut outsider, &elsewhere).await["entries"],
        json!({})
    );
    assert!(
        outsider
            .events
            .iter()
            .all(|(name, _)| name != "storage:changed"),
        "{:?}",
        outsider.events
    );
    for server in servers {
        server.stop().await;
    }
}

fn token(sub: &str, rooms: &[&str]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    encode(
        &Header::default(),
        &json!({ "sub": sub, "exp": now + 600, "rooms": rooms }),
        &EncodingKey::from_secret(b"storage-secret"),
    )
    .unwrap()
}

async fn bad_requests_and_limits_are_refused_with_their_codes(store: Store) {
    let servers = nodes(&store, |c| {
        c.jwt_secret = Some("storage-secret".into());
        // 256 writes in a row: the rate limit is not what this test is about.
        c.rate_limit_per_sec = 100_000.0;
        c.rate_limit_burst = 100_000.0;
    })
    .await;
    let room = unique("limits");
    let connect = |sub: &'static str, rooms: &'static [&'static str]| {
        let url = servers[0].url();
        async move {
            RawSocket::connect(&url, Some(json!({ "token": token(sub, rooms) })))
                .await
                .unwrap()
        }
    };
    let mut alice = connect("alice", &["*"]).await;
    // Not joined yet: not_joined, for reads and writes alike.
    for (event, payload) in [
        (
            "storage:set",
            json!({ "roomId": room, "key": "k", "value": 1 }),
        ),
        ("storage:get", json!({ "roomId": room })),
        ("storage:get", json!({ "roomId": room, "key": "k" })),
        ("storage:delete", json!({ "roomId": room, "key": "k" })),
    ] {
        assert_eq!(
            alice.request(event, &payload).await["code"],
            "not_joined",
            "{event}"
        );
    }
    let ack = alice
        .request(
            "presence:join",
            &json!({ "roomId": room, "userId": "alice" }),
        )
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    // A token whose rooms claim does not allow the room: forbidden.
    let mut mallory = connect("mallory", &["other-*"]).await;
    let refused = mallory
        .request("storage:get", &json!({ "roomId": room }))
        .await;
    assert_eq!(refused["code"], "forbidden");

    let too_big = json!("x".repeat(64 * 1024));
    for (payload, code, names) in [
        (json!("not an object"), "invalid_payload", "payload"),
        (
            json!({ "key": "k", "value": 1 }),
            "invalid_payload",
            "roomId",
        ),
        (
            json!({ "roomId": room, "value": 1 }),
            "invalid_payload",
            "key",
        ),
        (
            json!({ "roomId": room, "key": "", "value": 1 }),
            "invalid_payload",
            "key",
        ),
        (
            json!({ "roomId": room, "key": "k".repeat(129), "value": 1 }),
            "invalid_payload",
            "key",
        ),
        (
            json!({ "roomId": room, "key": 7, "value": 1 }),
            "invalid_payload",
            "key",
        ),
        (
            json!({ "roomId": room, "key": "k" }),
            "invalid_payload",
            "value",
        ),
        (
            json!({ "roomId": room, "key": "k", "value": null }),
            "invalid_payload",
            "value",
        ),
        (
            json!({ "roomId": room, "key": "k", "value": too_big }),
            "limit_exceeded",
            "value",
        ),
        (
            json!({ "roomId": room, "key": "k", "value": 1, "ifVersion": -1 }),
            "invalid_payload",
            "ifVersion",
        ),
        (
            json!({ "roomId": room, "key": "k", "value": 1, "ifVersion": 1e300 }),
            "invalid_payload",
            "ifVersion",
        ),
        (
            json!({ "roomId": room, "key": "k", "value": 1, "ifVersion": 9007199254740992u64 }),
            "invalid_payload",
            "ifVersion",
        ),
    ] {
        let refused = alice.request("storage:set", &payload).await;
        assert_eq!(
            (refused["ok"].clone(), refused["code"].clone()),
            (json!(false), json!(code)),
            "{payload}: {refused}"
        );
        assert!(
            refused["error"].as_str().unwrap().contains(names),
            "{refused}"
        );
    }
    // The largest value fits.
    let largest = json!("x".repeat(64 * 1024 - 2));
    assert_eq!(
        set(&mut alice, &room, "big", largest, None).await["ok"],
        true
    );
    // 256 keys, then a 257th is refused; overwriting one is not.
    for i in 1..256 {
        let ack = set(&mut alice, &room, &format!("key-{i}"), json!(i), None).await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    let full = set(&mut alice, &room, "one-too-many", json!(1), None).await;
    assert_eq!(full["code"], "limit_exceeded", "{full}");
    assert_eq!(
        set(&mut alice, &room, "key-7", json!("again"), None).await["version"],
        2
    );
    assert_eq!(
        entries(&mut alice, &room).await["entries"]
            .as_object()
            .unwrap()
            .len(),
        256
    );
    // Nothing refused was written, and the connection is still fine.
    assert_eq!(get(&mut alice, &room, "k").await["version"], 0);
    assert_eq!(get(&mut alice, &room, "one-too-many").await["version"], 0);
    for server in servers {
        server.stop().await;
    }
}

async fn a_write_racing_a_leave_or_a_disconnect_is_all_or_nothing(store: Store) {
    let servers = nodes(&store, |_| {}).await;
    let last = servers.len() - 1;
    let room = unique("race");
    let mut watcher = member(&servers[last], &room, "watcher").await;

    // A write then a leave, sent together: they run in arrival order, so the write happens.
    let mut alice = member(&servers[0], &room, "alice").await;
    let write = alice
        .emit_with_ack(
            "storage:set",
            &json!({ "roomId": room, "key": "a", "value": 1 }),
        )
        .await;
    let leave = alice
        .emit_with_ack("presence:leave", &json!({ "roomId": room }))
        .await;
    assert_eq!(alice.ack(write).await["version"], 1);
    assert_eq!(alice.ack(leave).await["ok"], true);
    // A leave then a write: the write is refused and nothing is stored or announced.
    let mut bob = member(&servers[0], &room, "bob").await;
    let leave = bob
        .emit_with_ack("presence:leave", &json!({ "roomId": room }))
        .await;
    let write = bob
        .emit_with_ack(
            "storage:set",
            &json!({ "roomId": room, "key": "b", "value": 1 }),
        )
        .await;
    assert_eq!(bob.ack(leave).await["ok"], true);
    assert_eq!(bob.ack(write).await["code"], "not_joined");

    // Writes cut by a disconnect: each either happened (stored and announced) or not at all.
    let mut carol = member(&servers[0], &room, "carol").await;
    for i in 0..10 {
        carol
            .emit_with_ack(
                "storage:set",
                &json!({ "roomId": room, "key": format!("c{i}"), "value": i }),
            )
            .await;
    }
    carol.drop_now().await;
    // Until what is stored and what was announced agree (each round is a marker write and its
    // announcement, then a read): a write that was stored but not announced, or the reverse,
    // would keep them apart.
    let mut announced = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + rtm_tests::WAIT;
    for round in 0u64.. {
        let marker = set(&mut watcher, &room, "marker", json!(round), None).await;
        let version = marker["version"].clone();
        let seen = changes_until(&mut watcher, |c| {
            c.iter()
                .any(|e| e["key"] == "marker" && e["version"] == version)
        })
        .await;
        announced.extend(seen.iter().map(|e| e["key"].as_str().unwrap().to_string()));
        let all = entries(&mut watcher, &room).await;
        let stored: std::collections::BTreeSet<String> = all["entries"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert!(stored.contains("a") && !stored.contains("b"), "{all}");
        if stored == announced {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stored {stored:?}, announced {announced:?}"
        );
    }
    for server in servers {
        server.stop().await;
    }
}

async fn concurrent_increments_on_two_nodes_end_exact(store: Store) {
    let servers = nodes(&store, |c| {
        // Contention means retries: the rate limit is not what this test is about.
        c.rate_limit_per_sec = 100_000.0;
        c.rate_limit_burst = 100_000.0;
    })
    .await;
    let room = unique("counter");
    let mut observer = member(&servers[0], &room, "observer").await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut client = member(&servers[i % servers.len()], &room, &format!("u{i}")).await;
        let room = room.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            let mut current = get(&mut client, &room, "n").await;
            for _ in 0..20 {
                loop {
                    let version = current["version"].as_u64().unwrap();
                    let next = current["value"].as_u64().unwrap_or(0) + 1;
                    let ack = set(&mut client, &room, "n", json!(next), Some(version)).await;
                    if ack["ok"] == true {
                        current = json!({ "value": next, "version": ack["version"] });
                        break;
                    }
                    assert_eq!(ack["code"], "conflict", "{ack}");
                    conflicts += 1;
                    current = ack["current"].clone();
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for task in tasks {
        conflicts += task.await.unwrap();
    }
    assert_eq!(
        get(&mut observer, &room, "n").await,
        json!({ "ok": true, "value": 200, "version": 200 }),
        "after {conflicts} conflicts"
    );
    let seen = changes_until(&mut observer, |c| c.iter().any(|e| e["version"] == 200)).await;
    let values: Vec<u64> = seen.iter().map(|e| e["value"].as_u64().unwrap()).collect();
    assert_eq!(
        values,
        (1..=200).collect::<Vec<u64>>(),
        "every increment once, in order"
    );
    for server in servers {
        server.stop().await;
    }
}

async fn a_whole_room_read_and_the_changes_after_its_rev_give_the_room(store: Store) {
    let servers = nodes(&store, |c| {
        c.rate_limit_per_sec = 100_000.0;
        c.rate_limit_burst = 100_000.0;
    })
    .await;
    let last = servers.len() - 1;
    let room = unique("crossing");
    let mut reader = member(&servers[last], &room, "reader").await;
    let mut writer = member(&servers[0], &room, "writer").await;
    for i in 0..20 {
        writer
            .emit_with_ack(
                "storage:set",
                &json!({ "roomId": room, "key": format!("k{}", i % 4), "value": i }),
            )
            .await;
    }
    // The read crosses the writes in flight (and the deletes after it).
    let all = entries(&mut reader, &room).await;
    for i in 0..40 {
        let payload = json!({ "roomId": room, "key": format!("k{}", i % 5), "value": i });
        let event = if i % 7 == 3 {
            "storage:delete"
        } else {
            "storage:set"
        };
        writer.emit_with_ack(event, &payload).await;
    }
    assert_eq!(
        set(&mut writer, &room, "end", json!(true), None).await["ok"],
        true
    );
    let seen = changes_until(&mut reader, |c| c.iter().any(|e| e["key"] == "end")).await;
    // The view an SDK keeps: the read, then each change after its rev, in order.
    let mut view = all["entries"].as_object().unwrap().clone();
    let from = all["rev"].as_u64().unwrap();
    for change in seen.iter().filter(|c| c["rev"].as_u64().unwrap() > from) {
        let key = change["key"].as_str().unwrap().to_string();
        if change["version"] == 0 {
            view.remove(&key);
        } else {
            view.insert(
                key,
                json!({ "value": change["value"], "version": change["version"] }),
            );
        }
    }
    assert_eq!(
        Value::Object(view),
        entries(&mut reader, &room).await["entries"]
    );
    for server in servers {
        server.stop().await;
    }
}

/// `bump {roomId}`: a module's increment of the room's `bumps` key, compare-and-set through its
/// `ModuleContext`.
struct Bump;

async fn bump(_: (), ctx: ModuleContext, _: SocketRef, payload: Value) -> Result<Value, AckError> {
    let room = ctx
        .limits()
        .id(rtm_server::module::validate::object(&payload)?, "roomId")?;
    let mut current = ctx.storage().get(&room, "bumps").await?;
    loop {
        let next = json!(current.value.as_u64().unwrap_or(0) + 1);
        match ctx
            .storage()
            .set(&room, "bumps", &next, Some(current.version), None)
            .await
        {
            Ok(version) => return Ok(json!({ "version": version })),
            Err(conflict) if conflict.code == rtm_server::ErrorCode::Conflict => {
                let seen = conflict.current.expect("a conflict carries the key");
                current = rtm_protocol::wire::StorageEntry::from_json(&seen).unwrap();
            }
            Err(other) => return Err(other),
        }
    }
}

#[async_trait]
impl Module for Bump {
    fn name(&self) -> &str {
        "bump"
    }
    fn on_connection(&self, socket: &SocketRef, ctx: &ModuleContext) {
        ctx.on_request(socket, "bump", (), bump);
    }
}

async fn the_backend_and_modules_write_like_members(store: Store) {
    let servers = nodes(&store, |c| c.api_keys = vec![KEY.into()]).await;
    let last = servers.len() - 1;
    let room = unique("backend");
    let mut alice = member(&servers[last], &room, "alice").await;
    let url = |server: &TestServer, key: &str| {
        format!(
            "{}/api/rooms/{}/storage/{}",
            server.url(),
            encode_path(&room),
            encode_path(key)
        )
    };

    // The backend writes; members hear it with userId null.
    let put = |body: Value| {
        let to = url(&servers[0], "slide n");
        async move { http_send(Method::PUT, &to, Some(KEY), Some(&body.to_string())).await }
    };
    assert_eq!(
        put(json!({ "value": { "n": 1 } })).await,
        (200, json!({ "ok": true, "version": 1 }))
    );
    let (status, conflict) = put(json!({ "value": 2, "ifVersion": 0 })).await;
    assert_eq!(status, 409);
    assert_eq!(
        (&conflict["code"], &conflict["current"]),
        (
            &json!("conflict"),
            &json!({ "value": { "n": 1 }, "version": 1 })
        )
    );
    let (status, big) = put(json!({ "value": "x".repeat(64 * 1024) })).await;
    assert_eq!((status, &big["code"]), (413, &json!("limit_exceeded")));
    let (status, null) = put(json!({ "value": null })).await;
    assert_eq!((status, &null["code"]), (400, &json!("invalid_payload")));
    let (status, _) = http_send(
        Method::PUT,
        &url(&servers[0], "x"),
        Some(KEY),
        Some("{nope"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = http_send(
        Method::PUT,
        &url(&servers[0], "x"),
        None,
        Some(r#"{"value":1}"#),
    )
    .await;
    assert_eq!(status, 401, "writes want the API key");
    let seen = changes_until(&mut alice, |c| !c.is_empty()).await;
    assert_eq!(
        seen,
        [
            json!({ "roomId": room, "key": "slide n", "value": { "n": 1 }, "version": 1, "userId": null, "rev": seen[0]["rev"] })
        ]
    );

    // Reads, from the other node.
    let (status, one) = http_get(&url(&servers[last], "slide n"), Some(KEY)).await;
    assert_eq!(
        (status, one),
        (
            200,
            json!({ "ok": true, "roomId": room, "key": "slide n", "value": { "n": 1 }, "version": 1 })
        )
    );
    let (status, all) = http_get(
        &format!(
            "{}/api/rooms/{}/storage",
            servers[last].url(),
            encode_path(&room)
        ),
        Some(KEY),
    )
    .await;
    assert_eq!(
        (status, &all["entries"]),
        (
            200,
            &json!({ "slide n": { "value": { "n": 1 }, "version": 1 } })
        )
    );
    assert!(all["rev"].as_u64().unwrap() > 0);
    let (status, _) = http_get(&url(&servers[last], "slide n"), None).await;
    assert_eq!(status, 401, "reads want credentials on a server with keys");

    // A module's compare-and-set through its context.
    for expected in 1..=3 {
        let ack = alice.request("bump", &json!({ "roomId": room })).await;
        assert_eq!(ack, json!({ "ok": true, "version": expected }));
    }
    let bumps = changes_until(&mut alice, |c| c.iter().any(|e| e["version"] == 3)).await;
    assert!(
        bumps
            .iter()
            .all(|e| e["key"] == "bumps" && e["userId"].is_null()),
        "{bumps:?}"
    );

    // Deletes: conditional by query, 409 on a mismatch.
    let delete = |query: &str| {
        let to = format!("{}{query}", url(&servers[0], "slide n"));
        async move { http_send(Method::DELETE, &to, Some(KEY), None).await }
    };
    assert_eq!(delete("?ifVersion=7").await.0, 409);
    assert_eq!(delete("?ifVersion=x").await.0, 400);
    assert_eq!(
        delete("?ifVersion=1").await,
        (200, json!({ "ok": true, "deleted": true }))
    );
    assert_eq!(
        delete("").await,
        (200, json!({ "ok": true, "deleted": false }))
    );
    let gone = changes_until(&mut alice, |c| !c.is_empty()).await;
    assert_eq!(
        (&gone[0]["value"], &gone[0]["version"]),
        (&Value::Null, &json!(0))
    );
    for server in servers {
        server.stop().await;
    }
}

async fn storage_is_forgotten_after_its_ttl_and_rev_never_goes_back(store: Store) {
    let servers = nodes(&store, |c| c.storage_ttl_s = 1).await;
    let room = unique("ttl");
    let mut alice = member(&servers[0], &room, "alice").await;
    assert_eq!(
        set(&mut alice, &room, "k", json!("soon gone"), None).await["version"],
        1
    );
    let before = entries(&mut alice, &room).await["rev"].as_u64().unwrap();
    // Expiry is time passing: poll, bounded, until the room's storage is gone.
    let deadline = tokio::time::Instant::now() + rtm_tests::WAIT;
    while get(&mut alice, &room, "k").await["version"] != 0 {
        assert!(tokio::time::Instant::now() < deadline, "still kept");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        set(&mut alice, &room, "k", json!("anew"), None).await["version"],
        1
    );
    let after = entries(&mut alice, &room).await["rev"].as_u64().unwrap();
    assert!(after > before, "rev went back: {before} then {after}");
    for server in servers {
        server.stop().await;
    }
}
