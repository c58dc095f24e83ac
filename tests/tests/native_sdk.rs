//! The native SDK (`rtm-sdk`) against the real server, on both stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rtm_sdk::{
    ChannelEvent, ClientOptions, ConnectionState, Error, ErrorCode, JoinOptions, PresenceChannel,
    PresenceEvent, PresenceEventType, PresenceLevel, RealtimeClient, StorageEntry,
};
use rtm_tests::{
    Proxy, RedisServer, SILENT_EVENT, Silent, Store, TestServer, encode_path, expect_event,
    http_get_json, unique,
};
use serde_json::{Value, json};

rtm_tests::on_both_stores!(
    two_clients_see_each_other_and_their_updates,
    custom_events_with_ack_timeout_and_unknown_event,
    an_expired_presence_is_rejoined,
    many_clients_in_many_rooms_get_correct_snapshots,
    a_large_room_is_read_in_pages_and_counted,
);

fn options(url: &str) -> ClientOptions {
    ClientOptions::new(url).configure(|c| {
        c.reconnection.initial_delay = Duration::from_millis(50);
        c.reconnection.max_delay = Duration::from_millis(300);
        c.request_timeout = Duration::from_secs(10);
    })
}

/// Connects a client and joins a room with it.
async fn connect_and_join(
    options: ClientOptions,
    join: JoinOptions,
) -> (RealtimeClient, PresenceChannel) {
    let client = RealtimeClient::connect(options).await.unwrap();
    let (channel, _) = client.join_room(join).await.unwrap();
    (client, channel)
}

fn is_presence(kind: PresenceEventType, user: &'static str) -> impl Fn(&ChannelEvent) -> bool {
    move |e| matches!(e, ChannelEvent::Presence(p) if p.kind == kind && p.user_id == user)
}

/// Waits for `user`'s presence event of `kind` and returns it.
async fn expect_presence<S>(
    events: &mut S,
    kind: PresenceEventType,
    user: &'static str,
) -> PresenceEvent
where
    S: futures_util::Stream<Item = ChannelEvent> + Unpin,
{
    let what = format!("{user}'s {kind:?}");
    match expect_event(events, &what, is_presence(kind, user)).await {
        ChannelEvent::Presence(event) => event,
        _ => unreachable!("matched a presence event"),
    }
}

async fn two_clients_see_each_other_and_their_updates(store: Store) {
    let server = TestServer::start(&store, |_| {}).await;
    let room = unique("sdk");
    let alice = RealtimeClient::connect(options(&server.url()))
        .await
        .unwrap();
    let bob = RealtimeClient::connect(options(&server.url()))
        .await
        .unwrap();
    assert_eq!(alice.state().state, ConnectionState::Connected);
    let (a, joined) = alice
        .join_room(JoinOptions::new(&room, "alice").state(json!({"status": "online"})))
        .await
        .unwrap();
    assert_eq!(joined.snapshot.len(), 1);
    let mut a_events = a.events();
    let (b, joined) = bob.join_room(JoinOptions::new(&room, "bob")).await.unwrap();
    assert_eq!(joined.snapshot.len(), 2);
    assert_eq!(b.members().len(), 2, "bob's view has both");

    expect_event(
        &mut a_events,
        "bob's join",
        is_presence(PresenceEventType::Join, "bob"),
    )
    .await;
    assert_eq!(
        a.members()
            .iter()
            .map(|m| m.user_id.as_str())
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );

    let ack = b.update_state(json!({"status": "busy"})).await.unwrap();
    assert!(ack.changed);
    let update = expect_presence(&mut a_events, PresenceEventType::Update, "bob").await;
    assert_eq!(update.state.unwrap()["status"], "busy");
    let bob_member = a
        .members()
        .into_iter()
        .find(|m| m.user_id == "bob")
        .unwrap();
    assert_eq!(bob_member.state["status"], "busy");

    b.leave().await;
    expect_event(
        &mut a_events,
        "bob's leave",
        is_presence(PresenceEventType::Leave, "bob"),
    )
    .await;
    assert_eq!(a.members().len(), 1);
    alice.disconnect().await;
    bob.disconnect().await;
    server.stop().await;
}

/// The default modules, and [`Silent`] for requests that are never answered.
async fn with_silent(store: &Store) -> TestServer {
    TestServer::start_with("127.0.0.1:0", store, |_| {}, |s| s.module(Silent)).await
}

async fn custom_events_with_ack_timeout_and_unknown_event(store: Store) {
    let server = with_silent(&store).await;
    let room = unique("sdk");
    let (alice, a) =
        connect_and_join(options(&server.url()), JoinOptions::new(&room, "alice")).await;
    let mut events = a.events();
    let ack = a
        .emit_with_ack("chat:send", json!({"roomId": room, "message": "hi"}), None)
        .await
        .unwrap();
    assert_eq!(ack["ok"], true);
    let msg = expect_event(
        &mut events,
        "the chat message",
        |e| matches!(e, ChannelEvent::Custom { event, .. } if event == "chat:message"),
    )
    .await;
    let ChannelEvent::Custom { payload, .. } = msg else {
        unreachable!()
    };
    assert_eq!(payload["msgId"], ack["msgId"]);

    let refused = a
        .emit_with_ack("chat:send", json!({"roomId": room}), None)
        .await;
    assert!(
        matches!(&refused, Err(Error::Server { code, .. }) if code == "invalid_payload"),
        "{refused:?}"
    );
    let silent = a
        .emit_with_ack(SILENT_EVENT, json!({}), Some(Duration::from_millis(300)))
        .await;
    assert_eq!(silent, Err(Error::Timeout));
    // An event no module handles is refused at once, long before its timeout.
    let unknown = tokio::time::timeout(
        rtm_tests::WAIT,
        a.emit_with_ack("nobody:handles", json!({}), Some(Duration::from_secs(60))),
    )
    .await
    .expect("answered at once, not at the timeout")
    .unwrap_err();
    assert_eq!(
        unknown.server_code(),
        Some(ErrorCode::UnknownEvent),
        "{unknown:?}"
    );
    assert!(
        unknown.to_string().contains(r#""nobody:handles""#),
        "{unknown}"
    );
    alice.disconnect().await;
    server.stop().await;
}

async fn an_expired_presence_is_rejoined(store: Store) {
    // Heartbeats slower than the TTL: the server expires the connection, the next heartbeat gets
    // not_joined, and the channel rejoins by itself.
    let server = TestServer::start(&store, |c| {
        c.presence_ttl_ms = 400;
        c.presence_reaper_interval_ms = 50;
    })
    .await;
    let room = unique("sdk");
    let (watcher, w) = connect_and_join(
        options(&server.url()).configure(|c| {
            c.presence.heartbeat_interval = Duration::from_millis(100);
        }),
        JoinOptions::new(&room, "watcher"),
    )
    .await;
    let mut w_events = w.events();
    let (slow, s) = connect_and_join(
        options(&server.url()).configure(|c| {
            c.presence.heartbeat_interval = Duration::from_millis(1_500);
        }),
        JoinOptions::new(&room, "slow").state(json!({"mood": "sleepy"})),
    )
    .await;
    let mut s_events = s.events();
    expect_event(
        &mut w_events,
        "slow's leave by expiry",
        is_presence(PresenceEventType::Leave, "slow"),
    )
    .await;
    let error = expect_event(&mut s_events, "not_joined", |e| {
        matches!(e, ChannelEvent::Error(_))
    })
    .await;
    assert!(
        matches!(&error, ChannelEvent::Error(Error::Server { code, .. }) if code == "not_joined"),
        "{error:?}"
    );
    let back = expect_event(&mut s_events, "reconnected", |e| {
        matches!(e, ChannelEvent::Reconnected { .. })
    })
    .await;
    let ChannelEvent::Reconnected { snapshot } = back else {
        unreachable!()
    };
    let me = snapshot
        .iter()
        .find(|e| e.user_id == "slow")
        .expect("in the fresh snapshot");
    assert_eq!(me.state["mood"], "sleepy", "rejoined with its last state");
    let join = expect_presence(&mut w_events, PresenceEventType::Join, "slow").await;
    assert_eq!(join.state.unwrap()["mood"], "sleepy");
    watcher.disconnect().await;
    slow.disconnect().await;
    server.stop().await;
}

async fn many_clients_in_many_rooms_get_correct_snapshots(store: Store) {
    const ROOMS: usize = 20;
    const PER_ROOM: usize = 10;
    let server = TestServer::start(&store, |_| {}).await;
    let prefix = unique("many");
    let mut clients = Vec::new();
    for i in 0..ROOMS * PER_ROOM {
        clients.push(
            RealtimeClient::connect(options(&server.url()))
                .await
                .unwrap(),
        );
        let _ = i;
    }
    let joins = clients.iter().enumerate().map(|(i, client)| {
        let room = format!("{prefix}-{}", i % ROOMS);
        async move {
            client
                .join_room(JoinOptions::new(room, format!("user-{i}")))
                .await
                .unwrap()
        }
    });
    let channels: Vec<_> = futures_util::future::join_all(joins).await;
    // Once every join is done, a fresh look at each room lists exactly its ten members.
    for (i, (channel, _)) in channels.iter().enumerate().take(ROOMS) {
        let mut users: Vec<String> = channel.members().into_iter().map(|m| m.user_id).collect();
        let mut expected: Vec<String> = (0..PER_ROOM)
            .map(|k| format!("user-{}", i + k * ROOMS))
            .collect();
        users.sort();
        expected.sort();
        let room = channel.room_id().to_string();
        // Events for late joiners may still be in flight: wait until the view settles on them.
        let mut events = channel.events();
        while users != expected {
            tokio::time::timeout(rtm_tests::WAIT, futures_util::StreamExt::next(&mut events))
                .await
                .unwrap_or_else(|_| panic!("room {room} never saw everyone: {users:?}"));
            users = channel.members().into_iter().map(|m| m.user_id).collect();
            users.sort();
        }
    }
    for client in &clients {
        client.disconnect().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reconnect_and_rejoin_after_a_server_restart() {
    let server = TestServer::start(&Store::Memory, |_| {}).await;
    let addr = server.addr().to_string();
    let room = unique("restart");
    let auth_calls = Arc::new(AtomicUsize::new(0));
    let counter = auth_calls.clone();
    let alice = RealtimeClient::connect(options(&server.url()).auth(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok(json!({ "token": format!("t{n}") })) }
    }))
    .await
    .unwrap();
    assert_eq!(auth_calls.load(Ordering::SeqCst), 1);
    let bob = RealtimeClient::connect(options(&server.url()))
        .await
        .unwrap();
    let (a, _) = alice
        .join_room(JoinOptions::new(&room, "alice").state(json!({"n": 1})))
        .await
        .unwrap();
    let (b, _) = bob.join_room(JoinOptions::new(&room, "bob")).await.unwrap();
    let (mut a_events, mut b_events) = (a.events(), b.events());
    let mut states = alice.state_changes();

    server.stop().await;
    expect_event(&mut a_events, "disconnected", |e| {
        matches!(e, ChannelEvent::Disconnected { .. })
    })
    .await;
    let reconnecting = async {
        while let Some(s) = futures_util::StreamExt::next(&mut states).await {
            if s.state == ConnectionState::Reconnecting {
                return s;
            }
        }
        unreachable!()
    };
    let s = tokio::time::timeout(rtm_tests::WAIT, reconnecting)
        .await
        .unwrap();
    assert!(s.attempt >= 1);

    let server = TestServer::start_on(&addr, &Store::Memory, |_| {}).await;
    for events in [&mut a_events, &mut b_events] {
        expect_event(events, "reconnected", |e| {
            matches!(e, ChannelEvent::Reconnected { .. })
        })
        .await;
    }
    // The new server knows both again (the in-memory store started empty).
    let until_both = |c: &rtm_sdk::PresenceChannel| c.members().len() == 2;
    while !until_both(&a) {
        expect_event(&mut a_events, "bob back", |_| true).await;
    }
    while !until_both(&b) {
        expect_event(&mut b_events, "alice back", |_| true).await;
    }
    let alice_seen = b
        .members()
        .into_iter()
        .find(|m| m.user_id == "alice")
        .unwrap();
    assert_eq!(alice_seen.state["n"], 1, "rejoined with its state");
    assert_eq!(alice.state().state, ConnectionState::Connected);
    assert!(
        auth_calls.load(Ordering::SeqCst) >= 2,
        "the auth provider is asked again for the reconnect"
    );
    alice.disconnect().await;
    bob.disconnect().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_network_is_noticed_on_both_sides() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.ping_interval_ms = 1_000;
        c.ping_timeout_ms = 1_000;
    })
    .await;
    let proxy = Proxy::start(server.addr()).await;
    let room = unique("cut");
    let (watcher, w) =
        connect_and_join(options(&server.url()), JoinOptions::new(&room, "watcher")).await;
    let mut w_events = w.events();
    let cut = RealtimeClient::connect(
        options(&proxy.url()).configure(|c| c.connect_timeout = Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let (c, _) = cut.join_room(JoinOptions::new(&room, "cut")).await.unwrap();
    let mut c_events = c.events();
    expect_event(
        &mut w_events,
        "cut's join",
        is_presence(PresenceEventType::Join, "cut"),
    )
    .await;

    proxy.freeze();
    // The server notices the silent socket (no pong) and the room sees it leave...
    expect_event(
        &mut w_events,
        "cut's leave",
        is_presence(PresenceEventType::Leave, "cut"),
    )
    .await;
    // ...and the client notices the pings stopped.
    expect_event(&mut c_events, "disconnected", |e| {
        matches!(e, ChannelEvent::Disconnected { .. })
    })
    .await;
    assert_ne!(cut.state().state, ConnectionState::Connected);

    proxy.thaw();
    expect_event(&mut c_events, "reconnected", |e| {
        matches!(e, ChannelEvent::Reconnected { .. })
    })
    .await;
    expect_event(
        &mut w_events,
        "cut's rejoin",
        is_presence(PresenceEventType::Join, "cut"),
    )
    .await;
    watcher.disconnect().await;
    cut.disconnect().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_heartbeats_make_the_client_reconnect() {
    let server = TestServer::start(&Store::Memory, |_| {}).await;
    let proxy = Proxy::start(server.addr()).await;
    let room = unique("missed");
    let (client, channel) = connect_and_join(
        options(&proxy.url()).configure(|c| {
            c.connect_timeout = Duration::from_secs(1);
            c.presence.heartbeat_interval = Duration::from_millis(100);
            c.presence.heartbeat_ack_timeout = Some(Duration::from_millis(100));
        }),
        JoinOptions::new(&room, "u"),
    )
    .await;
    let mut events = channel.events();
    expect_event(&mut events, "a heartbeat ack", |e| {
        matches!(e, ChannelEvent::HeartbeatAck { .. })
    })
    .await;
    proxy.freeze();
    let missed = expect_event(&mut events, "missed heartbeats", |e| {
        matches!(e, ChannelEvent::Error(_))
    })
    .await;
    assert_eq!(
        missed,
        ChannelEvent::Error(Error::MissedHeartbeats { missed: 2 })
    );
    expect_event(&mut events, "disconnected", |e| {
        matches!(e, ChannelEvent::Disconnected { .. })
    })
    .await;
    proxy.thaw();
    expect_event(&mut events, "reconnected", |e| {
        matches!(e, ChannelEvent::Reconnected { .. })
    })
    .await;
    assert_eq!(channel.members().len(), 1);
    client.disconnect().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_fail_with_disconnected_when_the_socket_closes() {
    let server = with_silent(&Store::Memory).await;
    let proxy = Proxy::start(server.addr()).await;
    let client = RealtimeClient::connect(
        options(&proxy.url()).configure(|c| c.reconnection.enabled = false),
    )
    .await
    .unwrap();
    proxy.freeze();
    let pending = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .emit_with_ack(SILENT_EVENT, json!({}), Some(Duration::from_secs(60)))
                .await
        }
    });
    tokio::task::yield_now().await;
    client.disconnect().await;
    let result = tokio::time::timeout(rtm_tests::WAIT, pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        result,
        Err(Error::Disconnected),
        "failed at once, not after 60 s"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_are_typed() {
    let server = TestServer::start(&Store::Memory, |c| c.jwt_secret = Some("s".into())).await;
    let refused = RealtimeClient::connect(options(&server.url()))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::ConnectRefused(m) if m.contains("unauthorized")),
        "{refused:?}"
    );
    let provider_failed = RealtimeClient::connect(
        options(&server.url()).auth(|| async { Err("no token".to_string()) }),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&provider_failed, Error::Transport(m) if m.contains("no token")),
        "{provider_failed:?}"
    );
    let port = rtm_tests::free_port();
    let nobody = RealtimeClient::connect(options(&format!("http://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert_eq!(nobody.code(), "transport");
    server.stop().await;
}

/// A room larger than a snapshot page: the SDK reads every page by itself while members come
/// and go, applies batched events, and a `"count"` member follows the room's size.
async fn a_large_room_is_read_in_pages_and_counted(store: Store) {
    let server = TestServer::start(&store, |c| {
        c.presence_snapshot_page = 3;
        c.presence_count_interval_ms = 100;
        c.presence_batch_ms = 50;
    })
    .await;
    let room = unique("large");
    let mut others = Vec::new();
    for i in 0..10 {
        let (client, channel) = connect_and_join(
            options(&server.url()),
            JoinOptions::new(&room, format!("m{i}")),
        )
        .await;
        others.push((client, channel));
    }
    let (_reader, view) =
        connect_and_join(options(&server.url()), JoinOptions::new(&room, "reader")).await;
    tokio::time::timeout(rtm_tests::WAIT, view.wait_complete())
        .await
        .expect("the view completes");
    assert_eq!(view.connections().len(), 11, "every page read");

    let (_fan, audience) = connect_and_join(
        options(&server.url()),
        JoinOptions::new(&room, "fan").presence(PresenceLevel::Count),
    )
    .await;
    assert_eq!(audience.count(), Some(12), "the join's total");
    assert!(
        audience.connections().is_empty(),
        "a count member holds no entries"
    );

    // One leaves, one changes its state: the reader's view and the audience's count follow.
    let mut events = view.events();
    let (gone, _) = others.pop().unwrap();
    gone.disconnect().await;
    others[0]
        .1
        .update_state(json!({"hand": "up"}))
        .await
        .unwrap();
    let counted = tokio::time::timeout(rtm_tests::WAIT, audience.wait_count(|n| n == 11))
        .await
        .expect("the count follows the room");
    assert_eq!(counted, 11);
    tokio::time::timeout(rtm_tests::WAIT, async {
        loop {
            let connections = view.connections();
            if connections.len() == 11
                && connections
                    .iter()
                    .any(|c| c.state.get("hand") == Some(&json!("up")))
            {
                break;
            }
            futures_util::StreamExt::next(&mut events).await;
        }
    })
    .await
    .expect("the reader's view follows the leave and the update");
    assert!(audience.connections().is_empty());
    server.stop().await;
}

/// Waits until `channel`'s storage view has `want` at `key` (each storage event is a chance).
async fn wait_for_value(channel: &PresenceChannel, key: &str, want: &Value) {
    let mut events = channel.events();
    let reached = async {
        while channel.storage().get(key).as_ref() != Some(want) {
            futures_util::StreamExt::next(&mut events).await;
        }
    };
    tokio::time::timeout(rtm_tests::WAIT, reached)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{key} is not {want} in the view within {:?}",
                rtm_tests::WAIT
            )
        });
}

/// `update` under contention: 10 clients, on two nodes of one Redis, each bump one counter 20
/// times at once. Every bump lands exactly once (each wrote a value of its own), the counter ends
/// at 200, and every view follows it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_under_contention_on_two_nodes_end_exact() {
    let redis = RedisServer::start();
    let store = Store::Redis(redis.url());
    let nodes = [
        TestServer::start(&store, |_| {}).await,
        TestServer::start(&store, |_| {}).await,
    ];
    let room = unique("counter");
    let mut members = Vec::new();
    for i in 0..10 {
        let join = JoinOptions::new(&room, format!("u{i}"));
        members.push(connect_and_join(options(&nodes[i % 2].url()), join).await);
    }
    let bumps: Vec<_> = members
        .iter()
        .map(|(_, channel)| {
            let storage = channel.storage();
            tokio::spawn(async move {
                let mut written = Vec::new();
                for _ in 0..20 {
                    let bump =
                        |n: Option<&Value>| json!(n.and_then(Value::as_u64).unwrap_or(0) + 1);
                    let entry = storage
                        .update("count", bump)
                        .await
                        .expect("the update lands");
                    assert_eq!(entry.value, json!(entry.version), "one write per version");
                    written.push(entry.version);
                }
                written
            })
        })
        .collect();
    let mut versions = Vec::new();
    for bump in bumps {
        versions.extend(bump.await.expect("a client's bumps"));
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=200).collect::<Vec<u64>>());
    let stored = members[3].1.storage().fetch("count").await.unwrap();
    assert_eq!(
        stored,
        StorageEntry {
            value: json!(200),
            version: 200
        }
    );
    for (_, channel) in &members {
        wait_for_value(channel, "count", &json!(200)).await;
    }
    for (client, _) in &members {
        client.disconnect().await;
    }
    for node in nodes {
        node.stop().await;
    }
}

/// A client whose network is cut while another writes: after it resumes (the same entry, within
/// the grace), its storage view is loaded again and equals the server's; later changes apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_resume_the_storage_view_equals_the_servers() {
    let server = TestServer::start(&Store::Memory, |c| c.presence_grace_ms = 10_000).await;
    let proxy = Proxy::start(server.addr()).await;
    let room = unique("storage-resume");
    let (writer, w) =
        connect_and_join(options(&server.url()), JoinOptions::new(&room, "writer")).await;
    let written = w.storage();
    written.set("kept", json!(1)).await.unwrap();
    written.set("gone", json!(1)).await.unwrap();
    let cut_client = RealtimeClient::connect(options(&proxy.url()))
        .await
        .unwrap();
    let (cut, joined) = cut_client
        .join_room(JoinOptions::new(&room, "cut"))
        .await
        .unwrap();
    let mut events = cut.events();
    let loaded = |e: &ChannelEvent| matches!(e, ChannelEvent::StorageLoaded);
    expect_event(&mut events, "the join's load", loaded).await;
    assert_eq!(cut.storage().get("gone"), Some(json!(1)));

    // The cut client misses these changes, and its connection is dropped.
    proxy.freeze();
    written.set("kept", json!(2)).await.unwrap();
    assert!(written.delete("gone").await.unwrap());
    written.set("new", json!({"x": true})).await.unwrap();
    proxy.thaw();
    expect_event(&mut events, "reconnected", |e| {
        matches!(e, ChannelEvent::Reconnected { .. })
    })
    .await;
    expect_event(&mut events, "the load after the resume", loaded).await;

    let view: serde_json::Map<String, Value> = cut
        .storage()
        .entries()
        .into_iter()
        .map(|(key, entry)| (key, entry.to_json()))
        .collect();
    let url = format!("{}/api/rooms/{}", server.url(), encode_path(&room));
    let stored = http_get_json(&format!("{url}/storage")).await;
    assert_eq!(
        Value::Object(view),
        stored["entries"],
        "the view is the server's"
    );
    assert_eq!(
        stored["entries"],
        json!({"kept": {"value": 2, "version": 2}, "new": {"value": {"x": true}, "version": 1}})
    );
    // It was a resume: the room still has the entry of the first join, and no other of "cut".
    let presence = http_get_json(&format!("{url}/presence")).await;
    let cut_entries: Vec<&Value> = presence["snapshot"]
        .as_array()
        .expect("a snapshot")
        .iter()
        .filter(|e| e["userId"] == "cut")
        .map(|e| &e["connId"])
        .collect();
    assert_eq!(cut_entries, [&json!(joined.self_info.conn_id)]);

    // Changes after the load apply on top.
    written.set("after", json!(3)).await.unwrap();
    wait_for_value(&cut, "after", &json!(3)).await;
    writer.disconnect().await;
    cut_client.disconnect().await;
    server.stop().await;
}
