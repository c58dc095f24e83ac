//! The browser SDK in headless Chromium against the real rtm-server. `scripts/test-wasm.sh`
//! starts the servers and passes their URLs at build time: `RTM_TEST_URL` (defaults) and
//! `RTM_TEST_SHORT_TTL_URL` (a 400 ms presence TTL).

#![cfg(target_arch = "wasm32")]

use futures_channel::mpsc;
use futures_util::{FutureExt, StreamExt};
use js_sys::{Function, Reflect};
use rtm_sdk_wasm::RealtimeClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const URL: &str = env!("RTM_TEST_URL");
const SHORT_TTL_URL: &str = env!("RTM_TEST_SHORT_TTL_URL");
const WAIT_MS: u32 = 10_000;

fn obj(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |v, key| {
        Reflect::get(&v, &key.into()).unwrap_or(JsValue::UNDEFINED)
    })
}

fn text(value: &JsValue, path: &str) -> String {
    get(value, path).as_string().unwrap_or_default()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

async fn client(url: &str, extra: &str) -> RealtimeClient {
    let options = format!(
        r#"{{"baseUrl":"{url}","reconnection":{{"initialDelayMs":50,"maxDelayMs":300}}{extra}}}"#
    );
    let client = RealtimeClient::new(obj(&options)).unwrap();
    JsFuture::from(client.connect()).await.expect("connects");
    client
}

async fn join(client: &RealtimeClient, room: &str, user: &str, state: &str) -> (Channel, JsValue) {
    let options = obj(&format!(
        r#"{{"roomId":"{room}","userId":"{user}","state":{state}}}"#
    ));
    let result = JsFuture::from(client.join_room(options).unwrap())
        .await
        .expect("joins");
    let response = get(&result, "response");
    let channel: Channel = get(&result, "channel").unchecked_into();
    (channel, response)
}

#[wasm_bindgen]
extern "C" {
    /// A `PresenceChannel` as JavaScript sees it: the tests go through the JS-facing API.
    type Channel;
    #[wasm_bindgen(method)]
    fn on(this: &Channel, event: &str, handler: &Function);
    #[wasm_bindgen(method)]
    fn members(this: &Channel) -> JsValue;
    #[wasm_bindgen(method, getter, js_name = self)]
    fn self_info(this: &Channel) -> JsValue;
    #[wasm_bindgen(method, js_name = updateState)]
    fn update_state(this: &Channel, patch: JsValue) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn emit(this: &Channel, event: &str, payload: JsValue, options: JsValue) -> JsValue;
    #[wasm_bindgen(method)]
    fn leave(this: &Channel) -> js_sys::Promise;
}

/// Records what a channel's listener receives.
struct Recorder {
    rx: mpsc::UnboundedReceiver<JsValue>,
    _closure: Closure<dyn FnMut(JsValue)>,
}

fn listen(channel: &Channel, event: &str) -> Recorder {
    let (tx, rx) = mpsc::unbounded();
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
        let _ = tx.unbounded_send(v);
    });
    channel.on(event, closure.as_ref().unchecked_ref::<Function>());
    Recorder {
        rx,
        _closure: closure,
    }
}

impl Recorder {
    async fn next_where(&mut self, what: &str, pred: impl Fn(&JsValue) -> bool) -> JsValue {
        let wait = async {
            while let Some(v) = self.rx.next().await {
                if pred(&v) {
                    return Some(v);
                }
            }
            None
        };
        futures_util::select! {
            v = wait.fuse() => v.unwrap_or_else(|| panic!("listener gone while waiting for {what}")),
            _ = gloo_timers_wait(WAIT_MS).fuse() => panic!("no {what} within {WAIT_MS} ms"),
        }
    }
}

async fn gloo_timers_wait(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32)
            .unwrap();
    });
    let _ = JsFuture::from(promise).await;
}

fn presence_of(kind: &'static str, user: &'static str) -> impl Fn(&JsValue) -> bool {
    move |e| text(e, "type") == kind && text(e, "userId") == user
}

async fn rejection(promise: js_sys::Promise) -> JsValue {
    JsFuture::from(promise).await.expect_err("rejects")
}

#[wasm_bindgen_test]
async fn two_clients_see_each_others_join_update_and_leave() {
    let room = unique("wasm");
    let a = client(URL, "").await;
    let b = client(URL, "").await;
    assert_eq!(a.state(), "connected");
    let (ca, ra) = join(&a, &room, "alice", r#"{"status":"online"}"#).await;
    assert_eq!(get(&ra, "snapshot.length").as_f64(), Some(1.0));
    let mut events = listen(&ca, "presenceEvent");
    let (cb, rb) = join(&b, &room, "bob", "{}").await;
    assert_eq!(get(&rb, "snapshot.length").as_f64(), Some(2.0));
    events
        .next_where("bob's join", presence_of("join", "bob"))
        .await;
    let members = ca.members();
    assert_eq!(js_sys::Array::from(&members).length(), 2);

    let ack = JsFuture::from(cb.update_state(obj(r#"{"status":"busy"}"#)))
        .await
        .unwrap();
    assert_eq!(get(&ack, "changed").as_bool(), Some(true));
    let update = events
        .next_where("bob's update", presence_of("update", "bob"))
        .await;
    assert_eq!(text(&update, "state.status"), "busy");

    JsFuture::from(cb.leave()).await.unwrap();
    events
        .next_where("bob's leave", presence_of("leave", "bob"))
        .await;
    assert_eq!(js_sys::Array::from(&ca.members()).length(), 1);
    let _ = JsFuture::from(a.disconnect()).await;
    let _ = JsFuture::from(b.disconnect()).await;
}

#[wasm_bindgen_test]
async fn the_epoch_comes_from_the_acks() {
    let a = client(URL, r#","presence":{"heartbeatIntervalMs":200}"#).await;
    let (ca, response) = join(&a, &unique("wasm"), "alice", "{}").await;
    let epoch = get(&response, "self.epoch").as_f64().unwrap();
    assert_eq!(get(&ca.self_info(), "epoch").as_f64(), Some(epoch));
    let mut acks = listen(&ca, "heartbeatAck");
    let ack = acks.next_where("a heartbeat ack", |_| true).await;
    assert_eq!(get(&ack, "epoch").as_f64(), Some(epoch));
    assert!(get(&ack, "rttMs").as_f64().is_some());
    let _ = JsFuture::from(a.disconnect()).await;
}

#[wasm_bindgen_test]
async fn emit_with_ack_answers_and_times_out_with_coded_errors() {
    let room = unique("wasm");
    let a = client(URL, "").await;
    let (ca, _) = join(&a, &room, "alice", "{}").await;
    let mut messages = listen(&ca, "chat:message");
    let options = obj(r#"{"ack":true}"#);
    let sent = ca.emit(
        "chat:send",
        obj(&format!(r#"{{"roomId":"{room}","message":"hi"}}"#)),
        options.clone(),
    );
    let ack = JsFuture::from(sent.unchecked_into::<js_sys::Promise>())
        .await
        .unwrap();
    assert_eq!(get(&ack, "ok").as_bool(), Some(true));
    let message = messages.next_where("the chat message", |_| true).await;
    assert_eq!(text(&message, "msgId"), text(&ack, "msgId"));

    let refused = ca.emit(
        "chat:send",
        obj(&format!(r#"{{"roomId":"{room}"}}"#)),
        options,
    );
    let err = rejection(refused.unchecked_into::<js_sys::Promise>()).await;
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&err, "code"), "invalid_payload");

    let silent = ca.emit(
        "nobody:answers",
        obj("{}"),
        obj(r#"{"ack":true,"timeoutMs":200}"#),
    );
    let err = rejection(silent.unchecked_into::<js_sys::Promise>()).await;
    assert_eq!(text(&err, "code"), "timeout");

    let bad = rejection(a.join_room(obj(r#"{"roomId":"","userId":"u"}"#)).unwrap()).await;
    assert_eq!(text(&bad, "code"), "invalid_payload");
    let _ = JsFuture::from(a.disconnect()).await;
}

#[wasm_bindgen_test]
async fn not_joined_leads_to_a_rejoin() {
    // Heartbeats slower than the server's 400 ms TTL: expired, told not_joined, rejoined.
    let a = client(SHORT_TTL_URL, r#","presence":{"heartbeatIntervalMs":1000}"#).await;
    let (ca, _) = join(&a, &unique("wasm"), "sleepy", r#"{"mood":"tired"}"#).await;
    let mut errors = listen(&ca, "error");
    let mut back = listen(&ca, "reconnected");
    let err = errors.next_where("not_joined", |_| true).await;
    assert_eq!(text(&err, "code"), "not_joined");
    let reconnected = back.next_where("reconnected", |_| true).await;
    let snapshot = js_sys::Array::from(&get(&reconnected, "snapshot"));
    assert_eq!(snapshot.length(), 1);
    assert_eq!(
        text(&snapshot.get(0), "state.mood"),
        "tired",
        "rejoined with its last state"
    );
    let _ = JsFuture::from(a.disconnect()).await;
}

#[wasm_bindgen_test]
async fn a_closed_transport_reconnects_and_rejoins() {
    let room = unique("wasm");
    let a = client(URL, "").await;
    let b = client(URL, "").await;
    let (ca, _) = join(&a, &room, "alice", "{}").await;
    let (cb, _) = join(&b, &room, "bob", r#"{"n":1}"#).await;
    let mut a_events = listen(&ca, "presenceEvent");
    let mut b_down = listen(&cb, "disconnected");
    let mut b_back = listen(&cb, "reconnected");
    b.drop_transport();
    b_down.next_where("disconnected", |_| true).await;
    b_back.next_where("reconnected", |_| true).await;
    a_events
        .next_where("bob's leave", presence_of("leave", "bob"))
        .await;
    let rejoin = a_events
        .next_where("bob's rejoin", presence_of("join", "bob"))
        .await;
    assert_eq!(get(&rejoin, "state.n").as_f64(), Some(1.0));
    assert_eq!(b.state(), "connected");
    let _ = JsFuture::from(a.disconnect()).await;
    let _ = JsFuture::from(b.disconnect()).await;
}

#[wasm_bindgen_test]
async fn pending_promises_reject_with_disconnected_when_the_socket_closes() {
    let a = client(URL, "").await;
    let (ca, _) = join(&a, &unique("wasm"), "alice", "{}").await;
    let pending = ca.emit(
        "nobody:answers",
        obj("{}"),
        obj(r#"{"ack":true,"timeoutMs":60000}"#),
    );
    let update = ca.update_state(obj(r#"{"x":1}"#));
    a.drop_transport();
    let err = rejection(pending.unchecked_into::<js_sys::Promise>()).await;
    assert_eq!(text(&err, "code"), "disconnected");
    // The update either got its ack before the close or was failed by it, never left hanging.
    let _ = JsFuture::from(update).await;
    let _ = JsFuture::from(a.disconnect()).await;
}

/// A client whose `authProvider` is the JS function with `body`.
fn client_with_auth(body: &str) -> RealtimeClient {
    let options = obj(&format!(r#"{{"baseUrl":"{URL}"}}"#));
    let provider = Function::new_no_args(body);
    Reflect::set(&options, &"authProvider".into(), &provider).unwrap();
    RealtimeClient::new(options).unwrap()
}

#[wasm_bindgen_test]
async fn the_auth_provider_is_awaited_and_its_rejection_fails_connect() {
    let ok = client_with_auth(
        "globalThis.rtmAuthCalls = (globalThis.rtmAuthCalls || 0) + 1;
         return new Promise(resolve => setTimeout(() => resolve({ token: 't' }), 20));",
    );
    JsFuture::from(ok.connect()).await.expect("connects");
    assert_eq!(ok.state(), "connected");
    let calls = Reflect::get(&js_sys::global(), &"rtmAuthCalls".into()).unwrap();
    assert_eq!(calls.as_f64(), Some(1.0));
    let _ = JsFuture::from(ok.disconnect()).await;

    let refused = client_with_auth("return Promise.reject(new Error('no token today'));");
    let err = rejection(refused.connect()).await;
    assert!(text(&err, "message").contains("no token today"), "{err:?}");
    assert!(!text(&err, "code").is_empty());

    let throws = client_with_auth("throw new Error('provider broke');");
    let err = rejection(throws.connect()).await;
    assert!(text(&err, "message").contains("provider broke"), "{err:?}");
}

#[wasm_bindgen_test]
async fn numbers_cross_the_wire_unchanged() {
    let room = unique("wasm");
    let a = client(URL, "").await;
    let b = client(URL, "").await;
    let state = r#"{"sum":0.30000000000000004,"tiny":5e-324,"huge":1.7976931348623157e308,"id":9007199254740991,"neg":-0.5}"#;
    join(&a, &room, "alice", state).await;
    let (cb, _) = join(&b, &room, "bob", "{}").await;
    let members = js_sys::Array::from(&cb.members());
    let alice = members
        .iter()
        .find(|m| text(m, "userId") == "alice")
        .expect("alice is listed");
    for (key, want) in [
        ("sum", 0.1 + 0.2),
        ("tiny", 5e-324),
        ("huge", f64::MAX),
        ("id", 9007199254740991.0),
        ("neg", -0.5),
    ] {
        let got = get(&alice, &format!("state.{key}")).as_f64();
        assert_eq!(
            got.map(f64::to_bits),
            Some(want.to_bits()),
            "{key}: {got:?}"
        );
    }
    let _ = JsFuture::from(a.disconnect()).await;
    let _ = JsFuture::from(b.disconnect()).await;
}
