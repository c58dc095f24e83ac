//! Room storage in the client state machine: the view loaded after every join and kept current
//! from `storage:changed` by `rev`, and the app's storage requests, with simulated time and a
//! simulated server.

mod harness;

use harness::{Harness, join_ack};
use rtm_sdk_core::{
    ChannelEvent, ClientConfig, ClientEvent, Completion, Error, StorageChanged, StorageEntry,
};
use serde_json::{Value, json};
use std::time::Duration;

fn storage_events(h: &mut Harness, room: &str) -> Vec<ChannelEvent> {
    h.pump();
    std::mem::take(&mut h.events)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Channel { room: r, event } if r == room => Some(event),
            _ => None,
        })
        .filter(|e| {
            matches!(
                e,
                ChannelEvent::StorageLoaded
                    | ChannelEvent::StorageChanged(_)
                    | ChannelEvent::Error(_)
            )
        })
        .collect()
}

/// A `storage:changed` of `room`.
fn changed(room: &str, key: &str, value: Value, version: u64, rev: u64) -> Value {
    json!({"roomId": room, "key": key, "value": value, "version": version, "userId": "bob", "rev": rev})
}

/// The view of `room` as (key, value, version), in key order.
fn view(h: &Harness, room: &str) -> Vec<(String, Value, u64)> {
    let view = h.client.storage(room).expect("a channel");
    let entries = view.entries().iter();
    entries
        .map(|(k, e)| (k.clone(), e.value.clone(), e.version))
        .collect()
}

fn kv(key: &str, value: Value, version: u64) -> (String, Value, u64) {
    (key.to_string(), value, version)
}

/// A connected client joined to "r", its storage load not answered yet; returns its ack id.
fn joined_loading() -> (Harness, u64) {
    let mut h = Harness::connected(Harness::config());
    let id = h.client.join_room(
        h.now,
        "r",
        "alice",
        Default::default(),
        rtm_sdk_core::PresenceLevel::Events,
    );
    let (_, _, ack) = h.sent_event();
    h.ack(ack, join_ack("r", "alice", &json!({}), 1, vec![]));
    assert!(h.completion(id).is_ok());
    let load = h.take_load("r");
    h.events.clear();
    (h, load)
}

/// The single event packet sent since last looked: (name, payload, ack id).
fn request(h: &mut Harness) -> (String, Value, u64) {
    h.sent_event()
}

#[test]
fn a_join_loads_the_rooms_storage_and_the_app_hears_of_it() {
    let (mut h, load) = joined_loading();
    let before = h.client.storage("r").unwrap();
    assert!(!before.is_loaded() && before.is_empty(), "not loaded yet");
    assert_eq!(h.client.storage("other"), None, "no channel, no storage");
    h.ack(
        load,
        json!({"ok": true, "entries": {"slide": {"value": {"n": 7}, "version": 3}, "poll": {"value": [1, 2], "version": 1}}, "rev": 50}),
    );
    assert_eq!(storage_events(&mut h, "r"), [ChannelEvent::StorageLoaded]);
    assert_eq!(
        view(&h, "r"),
        [
            kv("poll", json!([1, 2]), 1),
            kv("slide", json!({"n": 7}), 3)
        ]
    );
    let view = h.client.storage("r").unwrap();
    assert!(view.is_loaded());
    assert_eq!(
        (view.rev(), view.version("slide"), view.version("nope")),
        (50, 3, 0)
    );
    assert_eq!(view.value("slide"), Some(&json!({"n": 7})));
}

#[test]
fn the_load_asks_for_the_whole_room() {
    let mut h = Harness::connected(Harness::config());
    h.client.join_room(
        h.now,
        "deck",
        "alice",
        Default::default(),
        rtm_sdk_core::PresenceLevel::Count,
    );
    let (_, _, ack) = h.sent_event();
    h.ack(ack, join_ack("deck", "alice", &json!({}), 1, vec![]));
    assert!(h.take_sent().is_empty());
    assert_eq!(
        h.loads
            .iter()
            .map(|(room, _)| room.as_str())
            .collect::<Vec<_>>(),
        ["deck"],
        "a count member loads the room's storage too"
    );
}

fn entry(value: Value, version: u64) -> StorageEntry {
    StorageEntry { value, version }
}

#[test]
fn changes_apply_in_rev_order_once() {
    let (mut h, load) = joined_loading();
    h.ack(
        load,
        json!({"ok": true, "entries": {"a": {"value": 1, "version": 1}}, "rev": 10}),
    );
    h.events.clear();
    h.server_event("storage:changed", changed("r", "b", json!("x"), 1, 11));
    h.server_event("storage:changed", changed("r", "a", json!(2), 2, 12));
    // A duplicate, an older one, another room's and an unreadable one change nothing.
    h.server_event("storage:changed", changed("r", "a", json!(2), 2, 12));
    h.server_event("storage:changed", changed("r", "a", json!(0), 9, 5));
    h.server_event(
        "storage:changed",
        changed("elsewhere", "a", json!(0), 9, 99),
    );
    h.server_event("storage:changed", json!({"roomId": "r", "key": "a"}));
    let events = storage_events(&mut h, "r");
    let keys: Vec<(&str, u64)> = events
        .iter()
        .map(|e| match e {
            ChannelEvent::StorageChanged(c) => (c.key.as_str(), c.rev),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(keys, [("b", 11), ("a", 12)]);
    let ChannelEvent::StorageChanged(first) = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        *first,
        StorageChanged {
            room_id: "r".into(),
            key: "b".into(),
            value: json!("x"),
            version: 1,
            user_id: Some("bob".into()),
            rev: 11,
        }
    );
    assert_eq!(
        view(&h, "r"),
        [kv("a", json!(2), 2), kv("b", json!("x"), 1)]
    );
    assert_eq!(h.client.storage("r").unwrap().rev(), 12);
    // The storage event is the channel's, not an app event of the server's.
    assert!(!h.events.iter().any(|e| matches!(e, ClientEvent::Server(_))));
}

#[test]
fn a_delete_removes_the_key() {
    let (mut h, load) = joined_loading();
    h.ack(
        load,
        json!({"ok": true, "entries": {"a": {"value": 1, "version": 4}, "b": {"value": 2, "version": 1}}, "rev": 10}),
    );
    let id = h.client.storage_delete(h.now, "r", "a", Some(4));
    let (name, payload, ack) = request(&mut h);
    assert_eq!(name, "storage:delete");
    assert_eq!(payload, json!({"roomId": "r", "key": "a", "ifVersion": 4}));
    h.server_event("storage:changed", changed("r", "a", Value::Null, 0, 11));
    h.ack(ack, json!({"ok": true, "deleted": true}));
    assert_eq!(
        h.completion(id),
        Ok(Completion::StorageDeleted { deleted: true })
    );
    assert_eq!(view(&h, "r"), [kv("b", json!(2), 1)]);
    assert_eq!(h.client.storage("r").unwrap().version("a"), 0);
    let plain = h.client.storage_delete(h.now, "r", "zz", None);
    let (_, payload, ack) = request(&mut h);
    assert_eq!(payload, json!({"roomId": "r", "key": "zz"}));
    h.ack(ack, json!({"ok": true, "deleted": false}));
    assert_eq!(
        h.completion(plain),
        Ok(Completion::StorageDeleted { deleted: false })
    );
}

#[test]
fn a_change_that_crosses_the_load_is_applied_once() {
    // Before the answer: one the answer holds already (rev 20), one after it (rev 21).
    let (mut h, load) = joined_loading();
    h.server_event("storage:changed", changed("r", "a", json!("v1"), 1, 20));
    h.server_event("storage:changed", changed("r", "a", json!("v2"), 2, 21));
    assert!(storage_events(&mut h, "r").is_empty(), "held for the load");
    h.ack(
        load,
        json!({"ok": true, "entries": {"a": {"value": "v1", "version": 1}}, "rev": 20}),
    );
    assert_eq!(storage_events(&mut h, "r"), [ChannelEvent::StorageLoaded]);
    assert_eq!(
        view(&h, "r"),
        [kv("a", json!("v2"), 2)],
        "the loaded view has the change after the answer"
    );
    assert_eq!(h.client.storage("r").unwrap().rev(), 21);

    // After the answer: one it had (rev 30 ≤ 30) is dropped, a newer one applies.
    let (mut h, load) = joined_loading();
    h.ack(
        load,
        json!({"ok": true, "entries": {"a": {"value": "v3", "version": 3}}, "rev": 30}),
    );
    h.events.clear();
    h.server_event("storage:changed", changed("r", "a", json!("v3"), 3, 30));
    assert!(
        storage_events(&mut h, "r").is_empty(),
        "in the answer already"
    );
    h.server_event("storage:changed", changed("r", "a", json!("v4"), 4, 31));
    assert_eq!(storage_events(&mut h, "r").len(), 1);
    assert_eq!(view(&h, "r"), [kv("a", json!("v4"), 4)]);
}

#[test]
fn set_get_and_their_answers() {
    let (mut h, load) = joined_loading();
    h.ack(load, json!({"ok": true, "entries": {}, "rev": 1}));
    let set = h
        .client
        .storage_set(h.now, "r", "slide", json!({"n": 8}), None);
    let (name, payload, ack) = request(&mut h);
    assert_eq!(name, "storage:set");
    assert_eq!(
        payload,
        json!({"roomId": "r", "key": "slide", "value": {"n": 8}})
    );
    h.ack(ack, json!({"ok": true, "version": 1}));
    assert_eq!(
        h.completion(set),
        Ok(Completion::StorageWritten { version: 1 })
    );
    assert!(
        h.client.storage("r").unwrap().is_empty(),
        "the view takes a write from its storage:changed only"
    );

    let get = h.client.storage_get(h.now, "r", "slide");
    let (name, payload, ack) = request(&mut h);
    assert_eq!(
        (name.as_str(), payload),
        ("storage:get", json!({"roomId": "r", "key": "slide"}))
    );
    h.ack(ack, json!({"ok": true, "value": {"n": 8}, "version": 1}));
    assert_eq!(
        h.completion(get),
        Ok(Completion::StorageRead(entry(json!({"n": 8}), 1)))
    );
    // A refusal keeps the server's code; an answer of another shape is invalid_response.
    let refused = h.client.storage_set(h.now, "r", "k", Value::Null, None);
    let (_, _, ack) = request(&mut h);
    h.ack(
        ack,
        json!({"ok": false, "error": "value must not be null", "code": "invalid_payload"}),
    );
    assert_eq!(h.completion(refused).unwrap_err().code(), "invalid_payload");
    let odd = h.client.storage_get(h.now, "r", "k");
    let (_, _, ack) = request(&mut h);
    h.ack(ack, json!({"ok": true}));
    assert_eq!(h.completion(odd).unwrap_err().code(), "invalid_response");
}

#[test]
fn a_conflict_carries_the_keys_current_entry() {
    let (mut h, load) = joined_loading();
    h.ack(load, json!({"ok": true, "entries": {}, "rev": 1}));
    let id = h.client.storage_set(h.now, "r", "slide", json!(8), Some(3));
    let (_, payload, ack) = request(&mut h);
    assert_eq!(
        payload,
        json!({"roomId": "r", "key": "slide", "value": 8, "ifVersion": 3})
    );
    h.ack(
        ack,
        json!({"ok": false, "error": "version 3 is not the key's version (4)", "code": "conflict", "current": {"value": {"slide": 7}, "version": 4}}),
    );
    let error = h.completion(id).unwrap_err();
    assert_eq!(
        error,
        Error::Conflict {
            message: "version 3 is not the key's version (4)".into(),
            current: entry(json!({"slide": 7}), 4),
        }
    );
    assert_eq!(error.code(), "conflict");
    // A conflict on a key that is absent now: its current is null at version 0.
    let id = h.client.storage_delete(h.now, "r", "gone", Some(2));
    let (_, _, ack) = request(&mut h);
    h.ack(
        ack,
        json!({"ok": false, "error": "x", "code": "conflict", "current": {"value": null, "version": 0}}),
    );
    assert!(
        matches!(h.completion(id), Err(Error::Conflict { current, .. }) if current == StorageEntry::default())
    );
}

#[test]
fn storage_requests_time_out_and_fail_when_disconnected_or_not_in_the_room() {
    let config = ClientConfig {
        request_timeout: Duration::from_millis(3_000),
        ..Harness::config()
    };
    let mut h = Harness::connected(config);
    h.join("r", "alice", json!({}), 1, vec![]);
    let set = h.client.storage_set(h.now, "r", "k", json!(1), None);
    request(&mut h);
    h.advance(2_999);
    assert!(h.is_pending(set));
    h.advance(1);
    assert_eq!(h.completion(set), Err(Error::Timeout));

    let get = h.client.storage_get(h.now, "r", "k");
    let delete = h.client.storage_delete(h.now, "r", "k", None);
    assert!(h.is_pending(get) && h.is_pending(delete));
    assert_eq!(h.take_sent().len(), 2);
    h.client
        .transport_closed(h.now, h.transport, "network down");
    assert_eq!(h.completion(get), Err(Error::Disconnected));
    assert_eq!(h.completion(delete), Err(Error::Disconnected));
    // While reconnecting, and without a channel of the room, nothing is sent.
    let offline = h.client.storage_set(h.now, "r", "k", json!(1), None);
    assert_eq!(h.completion(offline), Err(Error::Disconnected));
    let elsewhere = h.client.storage_get(h.now, "other", "k");
    assert!(matches!(
        h.completion(elsewhere),
        Err(Error::InvalidState(m)) if m == "not in room other"
    ));
    assert!(h.take_sent().is_empty());
}

#[test]
fn a_rejoin_loads_the_storage_again_and_the_view_waits_for_it() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "alice", json!({}), 1, vec![]);
    h.server_event("storage:changed", changed("r", "a", json!(1), 1, 5));
    h.client
        .transport_closed(h.now, h.transport, "network down");
    h.advance(10_000);
    h.accept_transport(None);
    let (name, _, ack) = h.sent_event();
    assert_eq!(name, "presence:join");
    assert!(h.loads.is_empty(), "the load follows the rejoin's answer");
    h.ack(ack, join_ack("r", "alice", &json!({}), 2, vec![]));
    let load = h.take_load("r");
    h.events.clear();
    // Until the answer, the view is what it was (missing what the connection lost).
    assert_eq!(view(&h, "r"), [kv("a", json!(1), 1)]);
    h.server_event("storage:changed", changed("r", "b", json!(2), 1, 9));
    h.ack(
        load,
        json!({"ok": true, "entries": {"a": {"value": 3, "version": 3}}, "rev": 8}),
    );
    assert_eq!(storage_events(&mut h, "r"), [ChannelEvent::StorageLoaded]);
    assert_eq!(view(&h, "r"), [kv("a", json!(3), 3), kv("b", json!(2), 1)]);
}

#[test]
fn a_presence_sync_loads_the_storage_again() {
    let mut h = Harness::connected(Harness::config());
    h.join("r", "alice", json!({}), 1, vec![]);
    h.server_event(
        "presence:sync",
        json!({"roomId": "r", "snapshot": [], "total": 0, "cursor": null}),
    );
    let load = h.take_load("r");
    h.ack(
        load,
        json!({"ok": true, "entries": {"missed": {"value": true, "version": 1}}, "rev": 4}),
    );
    assert_eq!(view(&h, "r"), [kv("missed", json!(true), 1)]);
}

#[test]
fn a_failed_load_is_reported_and_retried_when_the_server_may_answer_later() {
    let config = ClientConfig {
        request_timeout: Duration::from_millis(3_000),
        ..Harness::config()
    };
    let mut h = Harness::connected(config);
    let id = h.client.join_room(
        h.now,
        "r",
        "alice",
        Default::default(),
        rtm_sdk_core::PresenceLevel::Events,
    );
    let (_, _, ack) = h.sent_event();
    h.ack(ack, join_ack("r", "alice", &json!({}), 1, vec![]));
    assert!(h.completion(id).is_ok());
    h.events.clear();
    let load = h.take_load("r");
    h.ack(
        load,
        json!({"ok": false, "error": "store down", "code": "unavailable"}),
    );
    let events = storage_events(&mut h, "r");
    assert!(
        matches!(&events[..], [ChannelEvent::Error(e)] if e.code() == "unavailable"),
        "{events:?}"
    );
    // Retried within the reconnection's first backoff bound (500 ms by default).
    h.advance(500);
    let load = h.take_load("r");
    h.ack(load, json!({"ok": true, "entries": {}, "rev": 3}));
    assert!(h.client.storage("r").unwrap().is_loaded());

    // A timeout is reported, not retried: the connection's own checks deal with a dead one.
    h.server_event(
        "presence:sync",
        json!({"roomId": "r", "snapshot": [], "total": 0}),
    );
    h.take_load("r");
    h.events.clear();
    h.advance(3_000);
    let events = storage_events(&mut h, "r");
    assert_eq!(events, [ChannelEvent::Error(Error::Timeout)]);
    h.advance(60_000);
    assert!(h.loads.is_empty(), "no retry after a timeout");
}

#[test]
fn a_server_without_storage_leaves_the_view_unloaded_and_says_nothing() {
    let (mut h, load) = joined_loading();
    h.events.clear();
    h.ack(
        load,
        json!({"ok": false, "error": "no handler for event \"storage:get\"", "code": "unknown_event"}),
    );
    assert_eq!(storage_events(&mut h, "r"), []);
    assert!(!h.client.storage("r").unwrap().is_loaded());
    h.advance(60_000);
    assert!(h.loads.is_empty(), "not asked again");
}

#[test]
fn a_load_answered_after_a_leave_changes_nothing() {
    let (mut h, load) = joined_loading();
    h.client.leave(h.now, "r");
    h.take_sent();
    h.ack(load, json!({"ok": true, "entries": {}, "rev": 3}));
    assert!(storage_events(&mut h, "r").is_empty());
    assert_eq!(h.client.storage("r"), None);
}
