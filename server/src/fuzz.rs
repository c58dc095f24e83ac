//! Property tests over everything that reads client input: the event payload reader, the
//! validation of each request field, the epoch and limit numbers, and `X-Forwarded-For`. They
//! assert that nothing panics and that every refusal names its field. `make test` runs the
//! default number of cases; `PROPTEST_CASES=100000 cargo test -p rtm-server fuzz` runs longer.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::module::payload::first_arg_of;
use crate::module::validate::{self, Limits};

/// Any JSON value, with hostile strings, keys and numbers.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".*".prop_map(Value::String),
        Just(Value::String("\"\\\u{0}\u{1e}\u{feff}".into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((".*", inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A request payload: mostly objects with the protocol's field names, holding anything.
fn payload() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just("roomId".to_string()),
        Just("userId".to_string()),
        Just("state".to_string()),
        Just("patchState".to_string()),
        Just("epoch".to_string()),
        Just("limit".to_string()),
        Just("message".to_string()),
        Just("key".to_string()),
        Just("value".to_string()),
        Just("ifVersion".to_string()),
        Just("after".to_string()),
        ".*",
    ];
    prop_oneof![
        prop::collection::vec((field, json_value()), 0..8)
            .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        json_value(),
    ]
}

/// Runs a request's validation as the handlers do; every error must name its field.
fn validate_all(payload: &Value, limits: &Limits) {
    let Ok(obj) = validate::object(payload) else {
        return;
    };
    for field in ["roomId", "userId"] {
        if let Err(err) = limits.id(obj, field) {
            assert!(err.error.contains(field), "{}", err.error);
        }
        if let Err(err) = limits.optional_id(Some(obj), field) {
            assert!(err.error.contains(field), "{}", err.error);
        }
    }
    for field in ["state", "patchState"] {
        if let Err(err) = limits.state(Some(obj), field) {
            assert!(err.error.contains(field), "{}", err.error);
        }
    }
    if let Err(err) = limits.message(obj, "message") {
        assert!(err.error.contains("message"), "{}", err.error);
    }
    match validate::limit(Some(obj), "limit", 50, usize::MAX) {
        Ok(n) => assert!(n >= 1),
        Err(err) => assert!(err.error.contains("limit"), "{}", err.error),
    }
    let _ = crate::presence::epoch_of(obj);
    // Storage's requests: read or refused, never a panic.
    use crate::module::FromPayload;
    use crate::storage_module::requests::{Delete, Get, Set};
    let _ = Set::from_payload(payload.clone(), limits);
    let _ = Get::from_payload(payload.clone(), limits);
    let _ = Delete::from_payload(payload.clone(), limits);
}

proptest! {
    #[test]
    fn any_packet_text_is_read_without_panic(text in ".*") {
        let _ = first_arg_of(&text);
    }

    #[test]
    fn any_json_argument_is_read_back_exactly(arg in json_value(), event in ".*") {
        let text = json!([event, arg]).to_string();
        prop_assert_eq!(first_arg_of(&text).unwrap(), arg);
    }

    #[test]
    fn any_payload_is_validated_without_panic(payload in payload()) {
        validate_all(&payload, &Limits::default());
        let tiny = Limits { max_id_bytes: 1, max_state_bytes: 2, max_message_bytes: 1, max_rooms_per_connection: 0 };
        validate_all(&payload, &tiny);
    }

    #[test]
    fn any_forwarded_for_header_is_read_without_panic(header in ".*", peer in any::<[u8; 4]>()) {
        let _ = crate::net::client_ip::client_ip_from(peer.into(), &[header], &["127.0.0.1".parse().unwrap()]);
    }
}
