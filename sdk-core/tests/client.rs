//! The client state machine, rule by rule, with simulated time and a simulated server.

mod harness;

use harness::{HANDSHAKE, Harness, entry, join_ack, presence, resumable, resume};
use rtm_sdk_core::codec::socketio::Packet;
use rtm_sdk_core::protocol::digest;
use rtm_sdk_core::{
    ChannelEvent, ClientConfig, ClientEvent, Completion, ConnectionState, Error, PresenceConfig,
    PresenceLevel, ReconnectConfig,
};
use serde_json::{Value, json};
use std::time::Duration;

fn channel_events(h: &mut Harness, room: &str) -> Vec<ChannelEvent> {
    h.pump();
    let events = std::mem::take(&mut h.events);
    events
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Channel { room: r, event } if r == room => Some(event),
            _ => None,
        })
        .collect()
}

fn states(h: &mut Harness) -> Vec<(ConnectionState, u32, Option<u64>)> {
    h.pump();
    h.events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::State(s) => Some((s.state, s.attempt, s.retry_in_ms)),
            _ => None,
        })
        .collect()
}

// ===== connecting =====

#[test]
fn connect_sends_auth_and_answers_pings() {
    let mut h = Harness::new(Harness::config());
    let id = h.client.connect(h.now);
    assert_eq!(h.client.state(), ConnectionState::Connecting);
    let connect = h.accept_transport(Some(json!({"token": "t1"})));
    assert_eq!(connect, Packet::Connect(Some(json!({"token": "t1"}))));
    assert_eq!(h.completion(id), Ok(Completion::Connected));
    assert_eq!(h.client.state(), ConnectionState::Connected);
    h.frame("2");
    assert_eq!(h.raw, ["3"]);
}

#[test]
fn connect_refused_fails_the_connect_and_does_not_retry() {
    let mut h = Harness::new(Harness::config());
    let id = h.client.connect(h.now);
    h.pump();
    h.client.transport_opened(h.now, h.transport, None);
    h.frame(HANDSHAKE);
    h.packet(Packet::ConnectError("unauthorized: invalid token".into()));
    assert_eq!(
        h.completion(id),
        Err(Error::ConnectRefused("unauthorized: invalid token".into()))
    );
    assert_eq!(h.client.state(), ConnectionState::Disconnected);
    assert_eq!(h.closed, [h.transport]);
    h.advance(60_000);
    assert_eq!(h.opened.len(), 1, "no retry");
}

#[test]
fn a_first_connect_that_fails_or_hangs_fails_once() {
    let mut h = Harness::new(Harness::config());
    let id = h.client.connect(h.now);
    h.pump();
    h.client
        .transport_closed(h.now, h.transport, "connection refused");
    assert_eq!(
        h.completion(id),
        Err(Error::Transport("connection refused".into()))
    );

    let mut h = Harness::new(ClientConfig {
        connect_timeout: Duration::from_millis(3_000),
        ..Harness::config()
    });
    let id = h.client.connect(h.now);
    h.advance(2_999);
    assert!(h.is_pending(id));
    h.advance(1);
    assert_eq!(
        h.completion(id),
        Err(Error::Transport("connect timeout".into()))
    );
}

#[test]
fn pings_that_stop_mean_a_dead_connection() {
    let mut h = Harness::connected(Harness::config());
    h.advance(40_000);
    h.frame("2"); // a ping resets the window (25 s + 20 s)
    h.advance(44_999);
    assert_eq!(h.client.state(), ConnectionState::Connected);
    h.advance(1);
    assert_eq!(h.client.state(), ConnectionState::Reconnecting);
    assert_eq!(h.closed.len(), 1);
}

// ===== reconnect =====

#[test]
fn reconnect_backoff_stays_in_bounds_and_gives_up_when_told() {
    let config = ClientConfig {
        reconnection: ReconnectConfig {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            max_attempts: Some(5),
            enabled: true,
        },
        ..Harness::config()
    };
    let mut h = Harness::connected(config);
    h.client
        .transport_closed(h.now, h.transport, "network down");
    for attempt in 1..=5u32 {
        let s = states(&mut h);
        let (state, n, delay) = *s.last().unwrap();
        assert_eq!(state, ConnectionState::Reconnecting);
        assert_eq!(n, attempt);
        let bound = (100u64 << (attempt - 1)).min(1_000);
        assert!(
            delay.unwrap() <= bound,
            "attempt {attempt}: {delay:?} > {bound}"
        );
        h.events.clear();
        let before = h.opened.len();
        h.advance(delay.unwrap());
        assert_eq!(
            h.opened.len(),
            before + 1,
            "attempt {attempt} opens a transport when its delay is up"
        );
        h.client.transport_closed(h.now, h.transport, "still down");
    }
    let s = states(&mut h);
    assert_eq!(s.last().unwrap().0, ConnectionState::Disconnected);
    let reason = h.events.iter().rev().find_map(|e| match e {
        ClientEvent::State(s) => Some(s.reason.clone()),
        _ => None,
    });
    assert_eq!(reason.unwrap(), "gave up reconnecting after 5 attempts");
    h.advance(60_000);
    assert_eq!(h.opened.len(), 6, "no attempt after giving up");
}

#[test]
fn reconnect_delays_are_jittered_between_clients() {
    let delays: Vec<u64> = (0..20)
        .map(|seed| {
            let mut h = Harness::connected(Harness::config());
            h.client = rtm_sdk_core::Client::new(Harness::config(), seed);
            h.client.connect(h.now);
            h.accept_transport(None);
            h.events.clear();
            h.client.transport_closed(h.now, h.transport, "down");
            states(&mut h).last().unwrap().2.unwrap()
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
    assert!(
        distinct.len() > 10,
        "delays should differ between clients: {delays:?}"
    );
    assert!(delays.iter().all(|&d| d <= 500));
}

#[test]
fn a_reconnect_rejoins_every_channel_with_its_last_state() {
    let mut h = Harness::connected(Harness::config());
    h.join("r1", "alice", json!({"s": 1}), 3, vec![]);
    h.join("r2", "alice", json!({}), 4, vec![]);
    let update = h.client.update_state(
        h.now,
        "r1",
        json!({"typing": true}).as_object().unwrap().clone(),
    );
    let (_, _, ack) = h.sent_event();
    h.ack(ack, json!({"ok": true, "changed": true, "epoch": 3}));
    assert!(h.completion(update).is_ok());
    h.events.clear();

    h.client
        .transport_closed(h.now, h.transport, "network down");
    let events = channel_events(&mut h, "r1");
    assert_eq!(
        events,
        [ChannelEvent::Disconnected {
            reason: "network down".into()
        }]
    );
    h.advance(10_000);
    h.events.clear();
    h.accept_transport(None);
    let mut joins: Vec<(String, Value, u64)> = h
        .take_sent()
        .into_iter()
        .map(|p| match p {
            Packet::Event {
                name,
                mut args,
                ack,
            } => (name, args.remove(0), ack.unwrap()),
            other => panic!("{other:?}"),
        })
        .collect();
    joins.sort_by(|a, b| a.1["roomId"].as_str().cmp(&b.1["roomId"].as_str()));
    assert_eq!(joins.len(), 2);
    assert_eq!(
        joins[0].1,
        json!({"roomId": "r1", "userId": "alice", "state": {"s": 1, "typing": true}, "batch": true})
    );
    let other = entry("c9", "bob", json!({}), 8, 0);
    h.ack(
        joins[0].2,
        join_ack(
            "r1",
            "alice",
            &json!({"s": 1, "typing": true}),
            11,
            vec![other.clone()],
        ),
    );
    let events = channel_events(&mut h, "r1");
    let ChannelEvent::Reconnected { snapshot } = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(snapshot.len(), 2);
    assert!(matches!(events[0], ChannelEvent::Snapshot(_)));
    assert_eq!(
        h.client.self_info("r1").unwrap().epoch,
        11,
        "the new epoch is used"
    );
    h.advance(10_000);
    let (name, payload, _) = h.sent_event();
    assert_eq!(
        (name.as_str(), &payload["epoch"]),
        ("presence:heartbeat", &json!(11))
    );
}

fn not_joined() -> Value {
    json!({"ok": false, "error": "gone", "code": "not_joined"})
}

/// Joins `room` as `user` at `epoch`, answered as an rtm server does, with a resume `token`.
fn join_resumable(h: &mut Harness, room: &str, user: &str, state: Value, epoch: u64, token: &str) {
    let id = h.client.join_room(
        h.now,
        room,
        user,
        patch(state.clone()),
        PresenceLevel::Events,
    );
    let (_, payload, ack) = h.sent_event();
    assert_eq!(
        payload,
        json!({"roomId": room, "userId": user, "state": state, "batch": true}),
        "a channel's first join has nothing to resume"
    );
    h.ack(
        ack,
        resumable(join_ack(room, user, &state, epoch, vec![]), token, false),
    );
    let Ok(Completion::Joined(joined)) = h.completion(id) else {
        panic!("not joined")
    };
    assert_eq!(joined.self_info.resume_token.as_deref(), Some(token));
    assert!(!joined.self_info.resumed);
}

#[test]
fn rejoins_resume_the_entry_of_the_last_join() {
    let mut h = Harness::connected(Harness::config());
    join_resumable(&mut h, "r", "alice", json!({"s": 1}), 7, "t1");

    // After a lost connection, the rejoin resumes that entry, with the channel's state.
    h.client
        .transport_closed(h.now, h.transport, "network down");
    h.advance(10_000);
    h.accept_transport(None);
    let (name, payload, ack) = h.sent_event();
    assert_eq!(name, "presence:join");
    assert_eq!(
        payload,
        json!({"roomId": "r", "userId": "alice", "state": {"s": 1}, "resume": resume("me", "t1"), "batch": true})
    );
    h.ack(
        ack,
        resumable(
            join_ack("r", "alice", &json!({"s": 1}), 12, vec![]),
            "t2",
            true,
        ),
    );
    let me = h.client.self_info("r").unwrap();
    assert_eq!(
        (me.epoch, me.resume_token.as_deref(), me.resumed),
        (12, Some("t2"), true)
    );

    // The resumed answer's token is what the next rejoin (here after `not_joined`) sends.
    h.advance(10_000);
    let (_, _, beat) = h.sent_event();
    h.ack(beat, not_joined());
    let (name, payload, join) = h.sent_event();
    assert_eq!(
        (name.as_str(), &payload["resume"]),
        ("presence:join", &resume("me", "t2"))
    );

    // An answer without a token (the TypeScript server's) leaves nothing to resume.
    h.ack(join, join_ack("r", "alice", &json!({"s": 1}), 13, vec![]));
    h.client.transport_closed(h.now, h.transport, "down");
    h.advance(10_000);
    h.accept_transport(None);
    let (_, payload, _) = h.sent_event();
    assert!(payload.get("resume").is_none(), "{payload}");
}

#[test]
fn a_drain_reconnects_at_once_without_leaving_and_resumes() {
    let mut h = Harness::connected(Harness::config());
    join_resumable(&mut h, "r", "alice", json!({"s": 1}), 7, "t1");
    let pending = h.client.emit_with_ack(h.now, "x", json!(1), None);
    h.take_sent();
    h.events.clear();
    let (old, at) = (h.transport, h.now);

    h.server_event("rtm:drain", json!({"reason": "shutdown"}));
    assert!(
        h.take_sent().is_empty(),
        "no DISCONNECT and no leave: the server keeps the entries"
    );
    assert_eq!(h.closed, [old]);
    assert_eq!(h.completion(pending), Err(Error::Disconnected));
    let change = h
        .events
        .iter()
        .find_map(|e| match e {
            ClientEvent::State(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (change.state, change.reason.as_str(), change.retry_in_ms),
        (ConnectionState::Reconnecting, "server draining", Some(0))
    );
    assert!(
        !h.events.iter().any(|e| matches!(
            e,
            ClientEvent::Server(_)
                | ClientEvent::Channel {
                    event: ChannelEvent::Custom { .. },
                    ..
                }
        )),
        "the drain is not an app event: {:?}",
        h.events
    );
    assert_eq!(h.client.poll_timeout(), Some(at), "no backoff");
    h.advance(0);
    assert_eq!((h.opened.len(), h.now), (2, at), "a new transport at once");
    h.accept_transport(None);
    let (name, payload, _) = h.sent_event();
    assert_eq!(name, "presence:join");
    assert_eq!(payload["resume"], resume("me", "t1"));
}

#[test]
fn any_drain_drains_and_a_failed_attempt_after_it_backs_off_from_the_first() {
    for payload in [json!(null), json!(7), json!({"reason": {"odd": true}})] {
        let mut h = Harness::connected(Harness::config());
        h.server_event("rtm:drain", payload.clone());
        h.advance(0);
        assert_eq!(h.opened.len(), 2, "{payload}");
        h.events.clear();
        h.client.transport_closed(h.now, h.transport, "refused");
        let (state, attempt, delay) = *states(&mut h).last().unwrap();
        assert_eq!((state, attempt), (ConnectionState::Reconnecting, 1));
        assert!(delay.unwrap() <= 500, "the first backoff: {delay:?}");
    }
}

// ===== heartbeats =====

#[test]
fn heartbeats_follow_the_interval_from_timestamps() {
    let config = ClientConfig {
        presence: PresenceConfig {
            heartbeat_interval: Duration::from_millis(1_000),
            ..Default::default()
        },
        ..Harness::config()
    };
    let mut h = Harness::connected(config);
    h.join("r", "u", json!({}), 7, vec![]);
    h.events.clear();
    let start = h.now;
    h.advance(999);
    assert!(h.take_sent().is_empty(), "not before the interval");
    h.advance(1);
    let (name, payload, ack) = h.sent_event();
    assert_eq!(name, "presence:heartbeat");
    let digest = digest::of([("me", 0)]);
    assert_eq!(
        payload,
        json!({"roomId": "r", "epoch": 7, "digest": digest})
    );
    assert_eq!(h.now, start + Duration::from_millis(1_000));
    h.advance(40);
    h.ack(ack, json!({"ok": true, "changed": false, "epoch": 7}));
    let events = channel_events(&mut h, "r");
    assert_eq!(
        events,
        [ChannelEvent::HeartbeatAck {
            changed: false,
            epoch: 7,
            rtt_ms: 40
        }]
    );

    // A throttled timer that wakes 5 s late sends one heartbeat, not five.
    h.sleep_then_handle_timeout(5_000);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
}

#[test]
fn the_epoch_of_each_ack_is_adopted() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({}), 7, vec![]);
    h.advance(10_000);
    let (_, _, ack) = h.sent_event();
    h.ack(ack, json!({"ok": true, "changed": false, "epoch": 9}));
    h.advance(10_000);
    let (_, payload, _) = h.sent_event();
    assert_eq!(payload["epoch"], 9);
}

#[test]
fn missed_heartbeats_raise_an_error_and_reconnect() {
    let config = ClientConfig {
        presence: PresenceConfig {
            heartbeat_interval: Duration::from_millis(1_000),
            max_missed_heartbeats: 2,
            heartbeat_ack_timeout: None,
            throttle: Duration::ZERO,
        },
        ..Harness::config()
    };
    let mut h = Harness::connected(config);
    h.join("r", "u", json!({}), 7, vec![]);
    h.events.clear();
    h.advance(1_000); // first heartbeat
    h.advance(1_000); // its ack timed out (1 s minimum), the second goes
    assert!(
        channel_events(&mut h, "r").is_empty(),
        "one miss is tolerated"
    );
    assert_eq!(h.client.state(), ConnectionState::Connected);
    h.advance(1_000);
    let events = channel_events(&mut h, "r");
    assert!(
        events.contains(&ChannelEvent::Error(Error::MissedHeartbeats { missed: 2 })),
        "{events:?}"
    );
    assert!(events.contains(&ChannelEvent::Disconnected {
        reason: "2 heartbeats missed".into()
    }));
    assert_eq!(h.client.state(), ConnectionState::Reconnecting);
    assert_eq!(h.closed.len(), 1, "the dead transport is closed");
}

#[test]
fn update_state_sends_the_patch_at_once_and_resolves_with_the_ack() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({"a": 1}), 7, vec![]);
    h.advance(3_000);
    let id = h
        .client
        .update_state(h.now, "r", json!({"b": 2}).as_object().unwrap().clone());
    let (name, payload, ack) = h.sent_event();
    assert_eq!(name, "presence:heartbeat");
    assert_eq!(
        payload,
        json!({"roomId": "r", "epoch": 7, "patchState": {"b": 2}})
    );
    assert!(h.is_pending(id));
    h.ack(ack, json!({"ok": true, "changed": true, "epoch": 7}));
    let done = h.completion(id).unwrap();
    assert!(matches!(done, Completion::Updated(r) if r.changed));
    assert_eq!(
        h.client.own_state("r").unwrap(),
        json!({"a": 1, "b": 2}).as_object().unwrap()
    );
    // It counts as the heartbeat: the next periodic one is an interval after it.
    h.advance(9_999);
    assert!(h.take_sent().is_empty());
    h.advance(1);
    assert_eq!(h.sent_event().0, "presence:heartbeat");
}

#[test]
fn heartbeats_carry_the_views_digest_once_per_interval() {
    let mut h = Harness::connected(Harness::config());
    h.join(
        "r",
        "u",
        json!({}),
        7,
        vec![entry("b1", "bob", json!({}), 5, 2)],
    );
    let start = h.now;
    let ok = json!({"ok": true, "changed": true, "epoch": 7});
    // Within an interval of the join's snapshot, an update carries none.
    h.advance(5_000);
    h.client.update_state(h.now, "r", patch(json!({"x": 0})));
    let (_, payload, ack) = h.sent_event();
    assert!(payload.get("digest").is_none(), "{payload}");
    h.ack(ack, ok.clone());
    // Bob changes. A burst of updates an interval after the join: the first carries the digest
    // of the view as it is then, the others none (their own events may be on their way).
    h.server_event(
        "presence:event",
        presence("update", "r", "b1", "bob", json!({"v": 1}), 5, 3),
    );
    h.advance_to(start + Duration::from_millis(12_000));
    let mut digests = Vec::new();
    for x in 1..=3 {
        h.client.update_state(h.now, "r", patch(json!({"x": x})));
        let (_, payload, ack) = h.sent_event();
        digests.push(payload.get("digest").cloned());
        h.ack(ack, ok.clone());
        h.advance(1);
    }
    let expected = digest::of([("b1", 3), ("me", 0)]);
    assert_eq!(digests, [Some(json!(expected)), None, None]);
    assert_eq!(h.client.view("r").unwrap().digest(), expected);
    // The periodic heartbeat, an interval after the last update, carries it again.
    h.advance_to(start + Duration::from_millis(12_002 + 10_000));
    let (name, payload, _) = h.sent_event();
    assert_eq!(name, "presence:heartbeat");
    assert_eq!(
        payload,
        json!({"roomId": "r", "epoch": 7, "digest": expected})
    );
}

fn throttled(ms: u64) -> Harness {
    let mut h = Harness::connected(ClientConfig {
        presence: PresenceConfig {
            throttle: Duration::from_millis(ms),
            ..Default::default()
        },
        ..Harness::config()
    });
    h.join("r", "u", json!({"x": 0}), 7, vec![]);
    h
}

fn patch(v: Value) -> rtm_sdk_core::State {
    v.as_object().unwrap().clone()
}

#[test]
fn throttled_updates_merge_into_one_heartbeat_at_the_windows_end() {
    let mut h = throttled(100);
    // The first update after a quiet window goes at once.
    let first = h.client.update_state(h.now, "r", patch(json!({"x": 1})));
    let (_, payload, ack1) = h.sent_event();
    assert_eq!(payload["patchState"], json!({"x": 1}));
    // Within the window: held back, merged, the latest value of each key winning.
    h.advance(10);
    let second = h
        .client
        .update_state(h.now, "r", patch(json!({"x": 2, "y": 1})));
    h.advance(30);
    let third = h.client.update_state(h.now, "r", patch(json!({"x": 3})));
    assert!(
        h.take_sent().is_empty(),
        "nothing goes before the window ends"
    );
    assert_eq!(
        h.client.own_state("r").unwrap(),
        &patch(json!({"x": 3, "y": 1}))
    );
    h.advance(59);
    assert!(h.take_sent().is_empty());
    h.advance(1); // 100 ms after the first was sent
    let (name, payload, ack2) = h.sent_event();
    assert_eq!(name, "presence:heartbeat");
    assert_eq!(
        payload,
        json!({"roomId": "r", "epoch": 7, "patchState": {"x": 3, "y": 1}})
    );
    h.ack(ack1, json!({"ok": true, "changed": true, "epoch": 7}));
    assert!(h.completion(first).is_ok());
    assert!(h.is_pending(second) && h.is_pending(third));
    h.ack(ack2, json!({"ok": true, "changed": false, "epoch": 7}));
    for id in [second, third] {
        let done = h.completion(id).unwrap();
        assert!(
            matches!(done, Completion::Updated(r) if !r.changed),
            "each resolves with the merged heartbeat's answer"
        );
    }
    // A quiet window later, the next update goes at once again.
    h.advance(500);
    h.client.update_state(h.now, "r", patch(json!({"x": 4})));
    assert_eq!(h.sent_event().1["patchState"], json!({"x": 4}));
}

#[test]
fn throttled_updates_fail_on_disconnect_and_their_patch_rejoins() {
    let mut h = throttled(1_000);
    h.client.update_state(h.now, "r", patch(json!({"x": 1})));
    h.take_sent();
    let held = h.client.update_state(h.now, "r", patch(json!({"x": 2})));
    h.client
        .transport_closed(h.now, h.transport, "network down");
    assert_eq!(h.completion(held), Err(Error::Disconnected));
    h.advance(10_000);
    h.accept_transport(None);
    let (name, payload, _) = h.sent_event();
    assert_eq!(name, "presence:join");
    assert_eq!(
        payload["state"],
        json!({"x": 2}),
        "the held patch is in the rejoin's state"
    );

    // Leaving fails what is held back, and nothing is sent for it afterwards.
    let mut h = throttled(1_000);
    h.client.update_state(h.now, "r", patch(json!({"x": 1})));
    h.take_sent();
    let held = h.client.update_state(h.now, "r", patch(json!({"x": 2})));
    h.client.leave(h.now, "r");
    assert!(matches!(h.completion(held), Err(Error::InvalidState(_))));
    let (name, _, _) = h.sent_event();
    assert_eq!(name, "presence:leave");
    h.advance(5_000);
    assert!(h.take_sent().is_empty());
}

#[test]
fn without_throttle_every_update_goes_at_once() {
    let mut h = throttled(0);
    for x in 1..=3 {
        h.client.update_state(h.now, "r", patch(json!({"x": x})));
        assert_eq!(h.sent_event().1["patchState"], json!({"x": x}));
    }
}

#[test]
fn stale_epoch_or_not_joined_leads_to_a_rejoin_with_the_last_state() {
    for code in ["stale_epoch", "not_joined"] {
        let mut h = Harness::connected(Harness::config());
        h.join("r", "u", json!({"a": 1}), 7, vec![]);
        h.events.clear();
        h.advance(10_000);
        let (_, _, ack) = h.sent_event();
        h.ack(ack, json!({"ok": false, "error": "rejoin", "code": code}));
        let (name, payload, ack) = h.sent_event();
        assert_eq!(name, "presence:join", "{code}");
        assert_eq!(payload["state"], json!({"a": 1}));
        h.ack(ack, join_ack("r", "u", &json!({"a": 1}), 12, vec![]));
        let events = channel_events(&mut h, "r");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ChannelEvent::Error(err) if err.code() == code))
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ChannelEvent::Reconnected { .. })),
            "{code}: {events:?}"
        );
        assert_eq!(h.client.self_info("r").unwrap().epoch, 12);
    }
}

#[test]
fn two_refused_heartbeats_make_one_rejoin() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({"a": 1}), 7, vec![]);
    // An update and the periodic heartbeat are in flight together, and both are refused.
    h.advance(10_000);
    let (_, _, periodic) = h.sent_event();
    let update = h.client.update_state(h.now, "r", patch(json!({"b": 2})));
    let (_, _, patched) = h.sent_event();
    h.ack(
        periodic,
        json!({"ok": false, "error": "gone", "code": "not_joined"}),
    );
    let (name, payload, join) = h.sent_event();
    assert_eq!(name, "presence:join");
    assert_eq!(payload["state"], json!({"a": 1, "b": 2}));
    h.ack(
        patched,
        json!({"ok": false, "error": "gone", "code": "not_joined"}),
    );
    assert!(
        h.take_sent().is_empty(),
        "no second join while one is in flight"
    );
    assert_eq!(h.completion(update).unwrap_err().code(), "not_joined");
    h.ack(
        join,
        join_ack("r", "u", &json!({"a": 1, "b": 2}), 12, vec![]),
    );
    assert_eq!(h.client.self_info("r").unwrap().epoch, 12);
    // The next heartbeat carries the new epoch, and nothing is refused as stale.
    h.advance(10_000);
    let (name, payload, _) = h.sent_event();
    assert_eq!(
        (name.as_str(), &payload["epoch"]),
        ("presence:heartbeat", &json!(12))
    );
}

#[test]
fn answers_about_an_earlier_join_never_override_the_current_one() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({"a": 1}), 7, vec![]);
    // A periodic heartbeat and two updates are in flight with epoch 7. The first update is
    // refused, so the channel joins again (epoch 12) before the others are answered.
    h.advance(10_000);
    let (_, _, periodic) = h.sent_event();
    h.client.update_state(h.now, "r", patch(json!({"b": 1})));
    let (_, _, first) = h.sent_event();
    let second = h.client.update_state(h.now, "r", patch(json!({"b": 2})));
    let (_, _, second_ack) = h.sent_event();
    h.ack(first, not_joined());
    let (name, _, join) = h.sent_event();
    assert_eq!(name, "presence:join");
    h.ack(
        join,
        join_ack("r", "u", &json!({"a": 1, "b": 2}), 12, vec![]),
    );
    h.events.clear();
    // Late answers about epoch 7: the periodic heartbeat accepted, the second update refused.
    h.ack(periodic, json!({"ok": true, "changed": false, "epoch": 7}));
    h.ack(second_ack, not_joined());
    assert!(h.take_sent().is_empty(), "no second rejoin");
    assert_eq!(
        h.client.self_info("r").unwrap().epoch,
        12,
        "the epoch does not go back"
    );
    assert_eq!(h.completion(second).unwrap_err().code(), "not_joined");
    assert!(
        channel_events(&mut h, "r").is_empty(),
        "nothing about the current join"
    );
    h.advance(10_000);
    let (name, payload, _) = h.sent_event();
    assert_eq!(
        (name.as_str(), &payload["epoch"]),
        ("presence:heartbeat", &json!(12))
    );
}

#[test]
fn a_late_answer_to_a_timed_out_join_is_ignored() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({}), 7, vec![]);
    h.advance(10_000);
    let (_, _, beat) = h.sent_event();
    h.ack(beat, not_joined());
    let (_, _, old_join) = h.sent_event();
    // That rejoin times out; its retry is answered, then the first one, with a lower epoch.
    h.advance(10_000 + 1_000);
    let (name, _, new_join) = h.sent_event();
    assert_eq!(name, "presence:join");
    let bob = entry("b1", "bob", json!({}), 11, 0);
    h.ack(new_join, join_ack("r", "u", &json!({}), 12, vec![bob]));
    h.events.clear();
    h.ack(old_join, join_ack("r", "u", &json!({}), 9, vec![]));
    assert_eq!(h.client.self_info("r").unwrap().epoch, 12);
    assert_eq!(h.client.view("r").unwrap().connections().len(), 2);
    assert!(channel_events(&mut h, "r").is_empty());
}

#[test]
fn a_rejoin_refused_as_unavailable_is_retried_and_forbidden_is_final() {
    for (code, retried) in [
        ("unavailable", true),
        ("internal", true),
        ("forbidden", false),
    ] {
        let mut h = Harness::connected(Harness::config());
        h.join("r", "u", json!({}), 7, vec![]);
        h.advance(10_000);
        let (_, _, ack) = h.sent_event();
        h.ack(
            ack,
            json!({"ok": false, "error": "gone", "code": "not_joined"}),
        );
        let (name, _, ack) = h.sent_event();
        assert_eq!(name, "presence:join");
        h.ack(ack, json!({"ok": false, "error": "no", "code": code}));
        // The first retry comes within the initial backoff (500 ms, full jitter).
        h.advance(1_000);
        let rejoined = h
            .take_sent()
            .iter()
            .any(|p| matches!(p, Packet::Event { name, .. } if name == "presence:join"));
        assert_eq!(rejoined, retried, "{code}");
        assert_eq!(h.client.view("r").is_some(), retried, "{code}");
    }
}

// ===== views =====

#[test]
fn events_update_the_view_once_and_those_during_join_are_replayed() {
    let mut h = Harness::connected(Harness::config());
    let id = h.client.join_room(
        h.now,
        "r",
        "alice",
        Default::default(),
        PresenceLevel::Events,
    );
    let (_, _, ack) = h.sent_event();
    // Before the ack: bob updated after the snapshot was taken, carol's join is in the snapshot.
    h.server_event(
        "presence:event",
        presence("update", "r", "b1", "bob", json!({"v": 2}), 5, 2),
    );
    h.server_event(
        "presence:event",
        presence("join", "r", "c1", "carol", json!({}), 6, 0),
    );
    h.ack(
        ack,
        join_ack(
            "r",
            "alice",
            &json!({}),
            9,
            vec![
                entry("b1", "bob", json!({"v": 1}), 5, 1),
                entry("c1", "carol", json!({}), 6, 0),
            ],
        ),
    );
    h.completion(id).unwrap();
    let view = h.client.view("r").unwrap();
    assert_eq!(view.connections().len(), 3);
    let bob = view
        .connections()
        .into_iter()
        .find(|c| c.user_id == "bob")
        .unwrap();
    assert_eq!(
        bob.state["v"], 2,
        "the buffered update was applied on top of the snapshot"
    );
    h.events.clear();

    let leave = presence("leave", "r", "c1", "carol", Value::Null, 6, 0);
    h.server_event("presence:event", leave.clone());
    h.server_event("presence:event", leave);
    let events = channel_events(&mut h, "r");
    assert_eq!(events.len(), 1, "a duplicate is not reported: {events:?}");
    assert_eq!(h.client.view("r").unwrap().members().len(), 2);
}

#[test]
fn custom_events_reach_the_channel_they_name_or_all() {
    let mut h = Harness::connected(Harness::config());
    h.join("r1", "u", json!({}), 1, vec![]);
    h.join("r2", "u", json!({}), 2, vec![]);
    h.events.clear();
    h.server_event("chat:message", json!({"roomId": "r2", "message": "hi"}));
    h.server_event("announce", json!({"text": "all"}));
    assert_eq!(
        channel_events(&mut h.clone_events(), "r1"),
        [ChannelEvent::Custom {
            event: "announce".into(),
            payload: json!({"text": "all"})
        }]
    );
    let r2 = channel_events(&mut h, "r2");
    assert_eq!(r2.len(), 2);
}

#[test]
fn a_sync_snapshot_replaces_the_view_like_a_rejoins() {
    let mut h = Harness::connected(Harness::config());
    let ghost = entry("c-ghost", "ghost", json!({}), 3, 0);
    h.join("r", "u", json!({}), 4, vec![ghost]);
    h.events.clear();
    let me = entry("c-self", "u", json!({}), 4, 0);
    let missed = entry("c-new", "newcomer", json!({"s": 1}), 9, 2);
    h.server_event(
        "presence:sync",
        json!({"roomId": "r", "snapshot": [me, missed]}),
    );
    let events = channel_events(&mut h, "r");
    assert!(
        matches!(&events[..], [ChannelEvent::Snapshot(s)] if s.len() == 2),
        "{events:?}"
    );
    let users: Vec<String> = h
        .client
        .view("r")
        .unwrap()
        .connections()
        .into_iter()
        .map(|e| e.user_id)
        .collect();
    assert_eq!(users, ["newcomer", "u"], "sorted by connection id");
    // A sync for a room the client is not in, or malformed, changes nothing.
    h.server_event("presence:sync", json!({"roomId": "other", "snapshot": []}));
    h.server_event("presence:sync", json!({"roomId": "r", "snapshot": 7}));
    assert!(channel_events(&mut h, "r").is_empty());
    assert_eq!(h.client.view("r").unwrap().connections().len(), 2);
}

#[test]
fn a_heartbeat_ack_with_a_snapshot_replaces_the_view() {
    let mut h = Harness::connected(Harness::config());
    let ghost = entry("c-ghost", "ghost", json!({}), 3, 0);
    h.join("r", "u", json!({}), 4, vec![ghost]);
    h.events.clear();
    // An ack without a snapshot changes nothing.
    h.advance(10_000);
    let (_, payload, ack) = h.sent_event();
    assert_eq!(
        payload["digest"],
        json!(digest::of([("c-ghost", 0), ("me", 0)]))
    );
    h.ack(ack, json!({"ok": true, "changed": false, "epoch": 4}));
    let events = channel_events(&mut h, "r");
    assert!(
        matches!(&events[..], [ChannelEvent::HeartbeatAck { .. }]),
        "{events:?}"
    );
    assert_eq!(h.client.view("r").unwrap().connections().len(), 2);

    // The room differs: the ghost goes, the missed member appears.
    h.advance(10_000);
    let (_, _, ack) = h.sent_event();
    let me = entry("me", "u", json!({}), 4, 0);
    let missed = entry("c-new", "newcomer", json!({"s": 1}), 9, 2);
    h.ack(
        ack,
        json!({"ok": true, "changed": false, "epoch": 4, "snapshot": [me, missed]}),
    );
    let events = channel_events(&mut h, "r");
    assert!(
        matches!(&events[..], [ChannelEvent::Snapshot(s), ChannelEvent::HeartbeatAck { .. }] if s.len() == 2),
        "{events:?}"
    );
    let users = |h: &Harness| -> Vec<String> {
        let view = h.client.view("r").unwrap();
        view.connections().into_iter().map(|e| e.user_id).collect()
    };
    assert_eq!(users(&h), ["newcomer", "u"]);
    // Events that arrive later apply on top.
    h.server_event(
        "presence:event",
        presence("update", "r", "c-new", "newcomer", json!({"s": 2}), 9, 3),
    );
    assert_eq!(
        h.client.view("r").unwrap().digest(),
        digest::of([("c-new", 3), ("me", 0)])
    );

    // An update answered with a snapshot: the snapshot goes to the view, not to the app.
    let update = h.client.update_state(h.now, "r", patch(json!({"t": 1})));
    let (_, _, ack) = h.sent_event();
    let me = entry("me", "u", json!({"t": 1}), 4, 1);
    h.ack(
        ack,
        json!({"ok": true, "changed": true, "epoch": 4, "snapshot": [me]}),
    );
    let Ok(Completion::Updated(response)) = h.completion(update) else {
        panic!("not updated")
    };
    assert_eq!((response.changed, response.snapshot), (true, None));
    assert_eq!(users(&h), ["u"]);
}

#[test]
fn the_servers_app_events_reach_the_client_once_whatever_its_rooms() {
    let mut h = Harness::connected(Harness::config());
    h.events.clear();
    h.server_event("note", json!({"n": 1}));
    h.join("r1", "u", json!({}), 1, vec![]);
    h.join("r2", "u", json!({}), 2, vec![]);
    h.server_event("news", json!("all"));
    h.server_event(
        "presence:event",
        presence("join", "r1", "c9", "zoe", json!({}), 3, 0),
    );
    let server: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Server(event) => Some((event.event.as_str(), event.payload.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(server, [("note", json!({"n": 1})), ("news", json!("all"))]);
}

// ===== acks =====

#[test]
fn emit_with_ack_resolves_or_times_out_exactly_once() {
    let mut h = Harness::connected(Harness::config());
    let id = h.client.emit_with_ack(
        h.now,
        "echo",
        json!({"x": 1}),
        Some(Duration::from_millis(2_000)),
    );
    let (name, payload, ack) = h.sent_event();
    assert_eq!((name.as_str(), payload), ("echo", json!({"x": 1})));
    h.ack(ack, json!({"ok": true, "y": 2}));
    assert_eq!(
        h.completion(id),
        Ok(Completion::Ack(json!({"ok": true, "y": 2})))
    );
    h.ack(ack, json!({"ok": true}));
    assert_eq!(
        h.completion(id),
        Ok(Completion::Ack(json!({"ok": true, "y": 2}))),
        "a second ack changes nothing"
    );

    let id = h.client.emit_with_ack(
        h.now,
        "slow",
        json!(null),
        Some(Duration::from_millis(2_000)),
    );
    let (_, _, ack) = h.sent_event();
    h.advance(1_999);
    assert!(h.is_pending(id));
    h.advance(1);
    assert_eq!(h.completion(id), Err(Error::Timeout));
    h.ack(ack, json!({"ok": true}));
    assert_eq!(
        h.completion(id),
        Err(Error::Timeout),
        "a late ack changes nothing"
    );

    let id = h.client.emit_with_ack(h.now, "refused", json!(null), None);
    let (_, _, ack) = h.sent_event();
    h.ack(
        ack,
        json!({"ok": false, "error": "no", "code": "forbidden"}),
    );
    assert_eq!(
        h.completion(id),
        Err(Error::Server {
            code: "forbidden".into(),
            message: "no".into()
        })
    );
}

#[test]
fn every_pending_request_fails_at_once_when_the_transport_closes() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({}), 1, vec![]);
    let join = h
        .client
        .join_room(h.now, "r2", "u", Default::default(), PresenceLevel::Events);
    let update = h.client.update_state(h.now, "r", Default::default());
    let custom = h
        .client
        .emit_with_ack(h.now, "x", json!(1), Some(Duration::from_millis(60_000)));
    let acks: Vec<u64> = h
        .take_sent()
        .into_iter()
        .filter_map(|p| match p {
            Packet::Event { ack, .. } => ack,
            _ => None,
        })
        .collect();
    h.client.transport_closed(h.now, h.transport, "gone");
    for id in [join, update, custom] {
        assert_eq!(h.completion(id), Err(Error::Disconnected));
    }
    assert!(
        h.client.view("r2").is_none(),
        "a failed first join leaves no channel"
    );
    // Answers that arrive on a later transport for the old ids change nothing.
    h.advance(10_000);
    h.accept_transport(None);
    for ack in acks {
        h.ack(ack, json!({"ok": true, "changed": false, "epoch": 1}));
    }
    for id in [join, update, custom] {
        assert_eq!(h.completion(id), Err(Error::Disconnected));
    }
}

#[test]
fn calls_while_disconnected_fail_fast_and_leave_always_resolves() {
    let mut h = Harness::new(Harness::config());
    let id = h
        .client
        .join_room(h.now, "r", "u", Default::default(), PresenceLevel::Events);
    assert_eq!(h.completion(id), Err(Error::Disconnected));
    let id = h.client.emit_with_ack(h.now, "x", json!(1), None);
    assert_eq!(h.completion(id), Err(Error::Disconnected));
    assert_eq!(h.client.emit("x", json!(1)), Err(Error::Disconnected));

    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({}), 1, vec![]);
    let id = h.client.leave(h.now, "r");
    assert!(h.client.view("r").is_none(), "cleaned up locally at once");
    let (name, payload, _) = h.sent_event();
    assert_eq!(
        (name.as_str(), payload),
        ("presence:leave", json!({"roomId": "r"}))
    );
    h.advance(10_000);
    assert_eq!(
        h.completion(id),
        Ok(Completion::Left),
        "resolves after the ack's timeout"
    );
}

#[test]
fn disconnect_fails_pending_and_stops_everything() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({}), 1, vec![]);
    let id = h.client.emit_with_ack(h.now, "x", json!(1), None);
    h.take_sent();
    h.client.disconnect(h.now);
    assert_eq!(h.completion(id), Err(Error::Disconnected));
    let leave = Packet::Event {
        name: "presence:leave".into(),
        args: vec![json!({"roomId": "r"})],
        ack: None,
    };
    assert_eq!(
        h.take_sent(),
        [leave, Packet::Disconnect],
        "leaves its rooms, then disconnects"
    );
    assert_eq!(h.closed.len(), 1);
    assert_eq!(h.client.state(), ConnectionState::Disconnected);
    assert!(h.client.poll_timeout().is_none(), "no timer left");
    h.advance(120_000);
    assert_eq!(h.opened.len(), 1, "no reconnect after disconnect()");
}

#[test]
fn frames_of_an_old_transport_are_ignored() {
    let mut h = Harness::connected(Harness::config());
    let old = h.transport;
    h.client.transport_closed(h.now, old, "down");
    h.advance(10_000);
    h.accept_transport(None);
    h.events.clear();
    h.client
        .transport_closed(h.now, old, "late close of the old socket");
    h.client.transport_frame(h.now, old, "41");
    assert_eq!(h.client.state(), ConnectionState::Connected);
}

#[test]
fn a_server_side_disconnect_reconnects() {
    let mut h = Harness::connected(Harness::config());
    h.packet(Packet::Disconnect);
    assert_eq!(h.client.state(), ConnectionState::Reconnecting);
}

impl Harness {
    /// A copy of the events so far, for looking at one room without losing the others.
    fn clone_events(&self) -> Harness {
        let mut copy = Harness::new(Harness::config());
        copy.events = self.events.clone();
        copy
    }
}

#[test]
fn the_connection_state_changes_before_channels_hear_of_a_loss() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "u", json!({}), 1, vec![]);
    h.events.clear();
    h.client.transport_closed(h.now, h.transport, "down");
    h.pump();
    let order: Vec<&str> = h
        .events
        .iter()
        .map(|e| match e {
            ClientEvent::State(_) => "state",
            ClientEvent::Channel { .. } => "channel",
            ClientEvent::Completed { .. } => "completed",
            ClientEvent::Server(_) => "server",
        })
        .collect();
    assert_eq!(order, ["state", "channel"]);
}

#[test]
fn events_without_rev_from_the_typescript_server_apply_in_arrival_order() {
    // The TypeScript server's frames: no `rev` (nor `lastSeenMs`) anywhere.
    let mut h = Harness::connected(Harness::config());
    let id = h.client.join_room(
        h.now,
        "r",
        "alice",
        Default::default(),
        PresenceLevel::Events,
    );
    let (_, _, ack) = h.sent_event();
    h.ack(
        ack,
        json!({"ok": true, "self": {"connId": "me", "epoch": 9}, "snapshot": [
            {"connId": "me", "userId": "alice", "state": {}, "epoch": 9},
            {"connId": "b1", "userId": "bob", "state": {"v": 1}, "epoch": 5},
        ]}),
    );
    h.completion(id).unwrap();
    h.events.clear();
    let update = |v: u64| json!({"type": "update", "roomId": "r", "userId": "bob", "connId": "b1", "state": {"v": v}, "ts": 20, "epoch": 5});
    for v in [2, 3, 2] {
        h.server_event("presence:event", update(v));
    }
    let bob = |h: &Harness| {
        h.client
            .view("r")
            .unwrap()
            .connections()
            .into_iter()
            .find(|c| c.user_id == "bob")
            .unwrap()
    };
    assert_eq!(bob(&h).state["v"], 2, "the last to arrive wins");
    assert_eq!(bob(&h).rev, None);
    let events = channel_events(&mut h, "r");
    assert_eq!(events.len(), 3, "every update reaches the app: {events:?}");
    // An older epoch is still out of date; a leave removes the entry.
    h.server_event("presence:event", json!({"type": "update", "roomId": "r", "userId": "bob", "connId": "b1", "state": {"v": 9}, "ts": 21, "epoch": 4}));
    assert_eq!(bob(&h).state["v"], 2);
    h.server_event("presence:event", json!({"type": "leave", "roomId": "r", "userId": "bob", "connId": "b1", "ts": 22, "epoch": 5}));
    assert_eq!(h.client.view("r").unwrap().members().len(), 1);
    // Heartbeat acks shaped as that server sends them are understood.
    h.advance(10_000);
    let (name, payload, ack) = h.sent_event();
    assert_eq!(
        (name.as_str(), &payload["epoch"]),
        ("presence:heartbeat", &json!(9))
    );
    h.ack(ack, json!({"ok": true, "changed": false, "epoch": 9}));
    assert!(
        channel_events(&mut h, "r")
            .iter()
            .any(|e| matches!(e, ChannelEvent::HeartbeatAck { epoch: 9, .. }))
    );
}

// ===== large rooms =====

/// Joins `room` as `user` at `level`, answered with `snapshot` (a first page when `cursor` is
/// set) and `total`; returns the join's completion.
fn join_paged(
    h: &mut Harness,
    level: PresenceLevel,
    snapshot: Vec<Value>,
    total: u64,
    cursor: Option<&str>,
) -> Completion {
    let id = h.client.join_room(h.now, "r", "u", patch(json!({})), level);
    let (name, payload, ack) = h.sent_event();
    assert_eq!(name, "presence:join");
    assert_eq!(payload["batch"], json!(true), "rtm always asks for batches");
    h.ack(
        ack,
        json!({"ok": true, "snapshot": snapshot, "total": total, "cursor": cursor,
               "self": {"connId": "me", "epoch": 7}}),
    );
    h.completion(id).expect("joined")
}

/// The page request the client sent: its cursor and ack id.
fn page_request(h: &mut Harness) -> (String, u64) {
    let (name, payload, ack) = h.sent_event();
    assert_eq!(name, "presence:members");
    assert_eq!(payload["roomId"], "r");
    assert!(payload.get("limit").is_none(), "the server's page size");
    (payload["cursor"].as_str().unwrap().to_string(), ack)
}

fn conn_ids(h: &Harness) -> Vec<String> {
    let view = h.client.view("r").unwrap();
    view.connections().into_iter().map(|e| e.conn_id).collect()
}

fn page(snapshot: Vec<Value>, total: u64, cursor: Option<&str>) -> Value {
    json!({"ok": true, "snapshot": snapshot, "total": total, "cursor": cursor})
}

#[test]
fn joins_ask_for_batches_and_send_the_presence_level() {
    let mut h = Harness::connected(Harness::config());
    let id = h
        .client
        .join_room(h.now, "r", "u", patch(json!({})), PresenceLevel::Count);
    let (_, payload, ack) = h.sent_event();
    assert_eq!(
        payload,
        json!({"roomId": "r", "userId": "u", "state": {}, "presence": "count", "batch": true})
    );
    h.ack(ack, join_ack("r", "u", &json!({}), 7, vec![]));
    assert!(h.completion(id).is_ok());
    // A rejoin asks for the same.
    h.client.transport_closed(h.now, h.transport, "down");
    h.advance(10_000);
    h.accept_transport(None);
    let (name, payload, _) = h.sent_event();
    assert_eq!(name, "presence:join");
    assert_eq!(
        (&payload["presence"], &payload["batch"]),
        (&json!("count"), &json!(true))
    );
}

#[test]
fn a_count_member_counts_from_its_join_then_from_presence_count() {
    let mut h = Harness::connected(Harness::config());
    assert_eq!(h.client.count("r"), None);
    let id = h
        .client
        .join_room(h.now, "r", "u", patch(json!({})), PresenceLevel::Count);
    let (_, _, ack) = h.sent_event();
    // The server's first count comes just before the join's answer.
    h.server_event("presence:count", json!({"roomId": "r", "count": 5000}));
    assert_eq!(h.client.count("r"), Some(5000));
    h.ack(
        ack,
        json!({"ok": true, "snapshot": [], "total": 5001, "cursor": null, "self": {"connId": "me", "epoch": 7}}),
    );
    assert!(h.completion(id).is_ok());
    let events = channel_events(&mut h, "r");
    assert_eq!(
        events,
        [
            ChannelEvent::Count(5000),
            ChannelEvent::Snapshot(vec![]),
            ChannelEvent::Count(5001),
            ChannelEvent::Connected
        ]
    );
    assert_eq!(h.client.count("r"), Some(5001));
    assert!(h.client.is_complete("r"));
    h.server_event("presence:count", json!({"roomId": "r", "count": 5003}));
    h.server_event("presence:count", json!({"roomId": "r", "count": 5003}));
    h.server_event("presence:count", json!({"roomId": "other", "count": 1}));
    h.server_event("presence:count", json!({"roomId": "r", "count": "many"}));
    assert_eq!(channel_events(&mut h, "r"), [ChannelEvent::Count(5003)]);
    assert_eq!(h.client.count("r"), Some(5003));
    // Its heartbeats carry no digest: the server keeps no view for it.
    for _ in 0..2 {
        h.advance(10_000);
        let (name, payload, ack) = h.sent_event();
        assert_eq!(name, "presence:heartbeat");
        assert!(payload.get("digest").is_none(), "{payload}");
        h.ack(ack, json!({"ok": true, "changed": false, "epoch": 7}));
    }
}

#[test]
fn a_paged_snapshot_is_read_until_complete_with_events_between_pages() {
    let mut h = Harness::connected(ClientConfig {
        request_timeout: Duration::from_secs(30),
        ..Harness::config()
    });
    let first = vec![
        entry("c1", "a", json!({}), 1, 0),
        entry("c2", "b", json!({}), 2, 0),
    ];
    join_paged(&mut h, PresenceLevel::Events, first, 7, Some("c2"));
    let events = channel_events(&mut h, "r");
    assert!(
        matches!(&events[..], [ChannelEvent::Snapshot(s), ChannelEvent::Connected] if s.len() == 2),
        "{events:?}"
    );
    assert!(!h.client.is_complete("r"));
    assert_eq!(h.client.count("r"), Some(2), "the view's, while paging too");
    let (cursor, ack) = page_request(&mut h);
    assert_eq!(cursor, "c2");

    // Between pages: c3 leaves, c4 joins, c5 changes; all of them are on the next page, older.
    let room = |kind, conn, user, epoch, rev| {
        presence(kind, "r", conn, user, json!({"v": rev}), epoch, rev)
    };
    h.server_event("presence:event", room("leave", "c3", "c", 3, 0));
    h.server_event("presence:event", room("join", "c4", "d", 4, 0));
    h.server_event("presence:event", room("update", "c5", "e", 5, 2));
    assert_eq!(conn_ids(&h), ["c1", "c2", "c4", "c5"]);
    h.events.clear();
    let second = vec![
        entry("c3", "c", json!({}), 3, 0),
        entry("c4", "d", json!({}), 4, 0),
        entry("c5", "e", json!({"v": 1}), 5, 1),
        entry("c6", "f", json!({}), 6, 0),
    ];
    h.ack(ack, page(second, 7, Some("c6")));
    let events = channel_events(&mut h, "r");
    let [
        ChannelEvent::Page {
            entries,
            complete: false,
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    let taken: Vec<&str> = entries.iter().map(|e| e.conn_id.as_str()).collect();
    assert_eq!(taken, ["c6"], "c3 left, c4 and c5 are known newer or equal");
    assert_eq!(
        conn_ids(&h),
        ["c1", "c2", "c4", "c5", "c6"],
        "c3 not resurrected, c4 once"
    );
    assert_eq!(h.client.view("r").unwrap().connections()[3].state["v"], 2);
    assert!(!h.client.is_complete("r"));

    let (cursor, ack) = page_request(&mut h);
    assert_eq!(cursor, "c6");
    // While paging, heartbeats carry no digest (the view is knowingly partial).
    h.advance(10_000);
    let (name, payload, beat) = h.sent_event();
    assert_eq!(name, "presence:heartbeat");
    assert!(payload.get("digest").is_none(), "{payload}");
    h.ack(beat, json!({"ok": true, "changed": false, "epoch": 7}));
    h.events.clear();
    h.ack(ack, page(vec![entry("me", "u", json!({}), 7, 0)], 6, None));
    let events = channel_events(&mut h, "r");
    assert!(
        matches!(&events[..], [ChannelEvent::Page { entries, complete: true }] if entries.len() == 1),
        "{events:?}"
    );
    assert!(h.client.is_complete("r"));
    assert_eq!(h.client.count("r"), Some(6), "the view's, once complete");
    assert!(h.take_sent().is_empty(), "no page after the last");
    // Complete, the view's digest goes again.
    h.advance(10_000);
    let (_, payload, _) = h.sent_event();
    assert_eq!(
        payload["digest"],
        json!(h.client.view("r").unwrap().digest())
    );
}

#[test]
fn an_outdated_paging_run_is_ignored_and_a_failed_page_stops_the_run() {
    let mut h = Harness::connected(Harness::config());
    join_paged(
        &mut h,
        PresenceLevel::Events,
        vec![entry("c1", "a", json!({}), 1, 0)],
        9,
        Some("c1"),
    );
    let (_, outdated) = page_request(&mut h);
    // A sync supersedes the run: its first page replaces the view, its pages are read instead.
    let me = entry("me", "u", json!({}), 7, 0);
    h.server_event(
        "presence:sync",
        json!({"roomId": "r", "snapshot": [entry("c0", "z", json!({}), 1, 0)], "total": 3, "cursor": "c0"}),
    );
    let (cursor, current) = page_request(&mut h);
    assert_eq!(cursor, "c0");
    assert_eq!(conn_ids(&h), ["c0"]);
    h.events.clear();
    h.ack(
        outdated,
        page(vec![entry("c2", "b", json!({}), 2, 0)], 9, Some("c2")),
    );
    assert!(
        channel_events(&mut h, "r").is_empty(),
        "the outdated run's answer is ignored"
    );
    assert!(h.take_sent().is_empty(), "and asks for nothing");
    assert_eq!(conn_ids(&h), ["c0"]);
    h.ack(current, page(vec![me.clone()], 3, Some("me")));
    assert_eq!(conn_ids(&h), ["c0", "me"]);

    // A page refused: the run stops with an error, the view stays partial.
    let (_, refused) = page_request(&mut h);
    h.events.clear();
    h.ack(refused, not_joined());
    let events = channel_events(&mut h, "r");
    assert!(
        matches!(&events[..], [ChannelEvent::Error(e)] if e.code() == "not_joined"),
        "{events:?}"
    );
    assert!(!h.client.is_complete("r"));
    assert!(h.take_sent().is_empty());
    // Stopped, the heartbeat sends the digest again: a snapshot in its answer starts over.
    h.advance(10_000);
    let (_, payload, beat) = h.sent_event();
    assert!(payload.get("digest").is_some(), "{payload}");
    h.ack(
        beat,
        json!({"ok": true, "changed": false, "epoch": 7, "snapshot": [me], "total": 2, "cursor": "me"}),
    );
    let (cursor, timed_out) = page_request(&mut h);
    assert_eq!(cursor, "me");
    // A page that times out stops the run too; its late answer is ignored.
    h.events.clear();
    h.advance(10_000);
    let events = channel_events(&mut h, "r");
    assert!(
        events.contains(&ChannelEvent::Error(Error::Timeout)),
        "{events:?}"
    );
    h.take_sent();
    h.ack(
        timed_out,
        page(vec![entry("c9", "y", json!({}), 9, 0)], 2, None),
    );
    assert_eq!(conn_ids(&h), ["me"]);
    assert!(!h.client.is_complete("r"));
}

#[test]
fn a_heartbeat_snapshot_with_a_cursor_pages() {
    let mut h = Harness::connected(Harness::config());
    h.join(
        "r",
        "u",
        json!({}),
        7,
        vec![entry("c-ghost", "g", json!({}), 3, 0)],
    );
    assert!(
        h.client.is_complete("r"),
        "no cursor: complete (the TypeScript server's answer)"
    );
    h.advance(10_000);
    let (_, payload, beat) = h.sent_event();
    assert!(payload.get("digest").is_some());
    let me = entry("me", "u", json!({}), 7, 0);
    h.ack(
        beat,
        json!({"ok": true, "changed": false, "epoch": 7, "snapshot": [entry("c-a", "a", json!({}), 8, 0)], "total": 3, "cursor": "c-a"}),
    );
    assert_eq!(conn_ids(&h), ["c-a"]);
    assert!(!h.client.is_complete("r"));
    let (cursor, ack) = page_request(&mut h);
    assert_eq!(cursor, "c-a");
    h.ack(
        ack,
        page(vec![entry("c-b", "b", json!({}), 9, 0)], 3, Some("c-b")),
    );
    let (cursor, ack) = page_request(&mut h);
    assert_eq!(cursor, "c-b");
    h.ack(ack, page(vec![me], 3, None));
    assert_eq!(conn_ids(&h), ["c-a", "c-b", "me"]);
    assert!(h.client.is_complete("r"));
}

#[test]
fn presence_events_batches_apply_in_order_like_single_events() {
    let mut h = Harness::connected(Harness::config());
    h.join(
        "r",
        "u",
        json!({}),
        7,
        vec![entry("b1", "bob", json!({}), 5, 0)],
    );
    h.events.clear();
    let batch = json!({"roomId": "r", "events": [
        presence("join", "r", "c1", "carol", json!({"v": 0}), 8, 0),
        presence("update", "r", "c1", "carol", json!({"v": 1}), 8, 1),
        presence("update", "r", "c1", "carol", json!({"v": 1}), 8, 1),
        presence("leave", "r", "b1", "bob", json!(null), 5, 0),
        presence("leave", "r", "c1", "carol", json!(null), 8, 1),
        presence("join", "r", "d1", "dave", json!({}), 9, 0),
    ]});
    h.server_event("presence:events", batch);
    let seen: Vec<(String, String)> = channel_events(&mut h, "r")
        .into_iter()
        .map(|e| match e {
            ChannelEvent::Presence(e) => (e.kind.as_str().to_string(), e.conn_id),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected = [
        ("join", "c1"),
        ("update", "c1"),
        ("leave", "b1"),
        ("leave", "c1"),
        ("join", "d1"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, c)| (k.to_string(), c.to_string()))
        .collect();
    assert_eq!(seen, expected, "in order, the duplicate not reported");
    assert_eq!(conn_ids(&h), ["d1", "me"]);
    // An unreadable event of a batch changes nothing; the others apply.
    h.server_event(
        "presence:events",
        json!({"roomId": "r", "events": [{"type": "nope"}, presence("join", "r", "e1", "eve", json!({}), 10, 0)]}),
    );
    assert_eq!(channel_events(&mut h, "r").len(), 1);
    assert_eq!(conn_ids(&h), ["d1", "e1", "me"]);
    h.server_event("presence:events", json!({"roomId": "r", "events": 3}));
    assert!(channel_events(&mut h, "r").is_empty());
}

#[test]
fn a_leave_that_came_while_joining_is_not_resurrected_by_a_later_page() {
    let mut h = Harness::connected(Harness::config());
    let id = h
        .client
        .join_room(h.now, "r", "u", patch(json!({})), PresenceLevel::Events);
    let (_, _, ack) = h.sent_event();
    // Batched with the join's answer in flight: c3 leaves (it is on the second page).
    h.server_event(
        "presence:events",
        json!({"roomId": "r", "events": [presence("leave", "r", "c3", "c", json!(null), 3, 0)]}),
    );
    h.ack(
        ack,
        json!({"ok": true, "snapshot": [entry("c1", "a", json!({}), 1, 0)], "total": 3, "cursor": "c1",
               "self": {"connId": "me", "epoch": 7}}),
    );
    assert!(h.completion(id).is_ok());
    let (_, page_ack) = page_request(&mut h);
    h.ack(
        page_ack,
        page(
            vec![
                entry("c3", "c", json!({}), 3, 0),
                entry("me", "u", json!({}), 7, 0),
            ],
            2,
            None,
        ),
    );
    assert_eq!(conn_ids(&h), ["c1", "me"]);
    assert!(h.client.is_complete("r"));
    assert_eq!(h.client.count("r"), Some(2));
}
