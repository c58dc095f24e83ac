//! The client's shared state and the loop that carries out what the core asks: open, send and
//! close WebSockets, set the one timer, settle promises, call listeners.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Promise, Reflect};
use rtm_sdk_core::json;
use rtm_sdk_core::wire::snapshot_json;
use rtm_sdk_core::{ChannelEvent, Client, ClientEvent, Completion, RequestId, Transmit};
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

use crate::channel::PresenceChannel;
use crate::js::{client_error, notify, now_ms, then, to_js, to_json};
use crate::lifecycle::Lifecycle;
use crate::listeners::{Listeners, RoomListeners};
use crate::transport::Socket;

/// A promise waiting for a request to complete.
pub(crate) struct Waiting {
    pub(crate) resolve: Function,
    pub(crate) reject: Function,
    /// For a join: the room, whose channel object the promise resolves with.
    pub(crate) join_room: Option<String>,
}

/// Everything one client holds.
pub(crate) struct Inner {
    pub(crate) core: Client,
    pub(crate) auth: Option<Function>,
    pub(crate) socket: Option<Socket>,
    timer: Option<(u64, Timeout)>,
    pub(crate) waiting: Vec<(RequestId, Waiting)>,
    pub(crate) listeners: Listeners,
    pub(crate) channels: RoomListeners,
    pub(crate) lifecycle: Option<Lifecycle>,
}

pub(crate) type Shared = Rc<RefCell<Inner>>;

impl Inner {
    pub(crate) fn new(core: Client, auth: Option<Function>) -> Self {
        Self {
            core,
            auth,
            socket: None,
            timer: None,
            waiting: Vec::new(),
            listeners: Listeners::default(),
            channels: RoomListeners::default(),
            lifecycle: None,
        }
    }
}

/// Runs `f` on the core with the current time, then carries out what follows.
pub(crate) fn act<T>(shared: &Shared, f: impl FnOnce(&mut Client, u64) -> T) -> T {
    let out = f(&mut shared.borrow_mut().core, now_ms());
    pump(shared);
    out
}

/// Carries out everything the core produced, until it produces nothing more, then sets the timer
/// for its next deadline. No borrow is held while app listeners run, so they may call back in.
pub(crate) fn pump(shared: &Shared) {
    loop {
        let (transmits, events) = {
            let mut inner = shared.borrow_mut();
            let transmits: Vec<Transmit> =
                std::iter::from_fn(|| inner.core.poll_transmit()).collect();
            let events: Vec<ClientEvent> = std::iter::from_fn(|| inner.core.poll_event()).collect();
            (transmits, events)
        };
        if transmits.is_empty() && events.is_empty() {
            break;
        }
        for transmit in transmits {
            carry_out(shared, transmit);
        }
        for event in events {
            deliver(shared, event);
        }
    }
    arm_timer(shared);
}

fn carry_out(shared: &Shared, transmit: Transmit) {
    match transmit {
        Transmit::Open { id, url } => {
            let weak = Rc::downgrade(shared);
            let auth = shared.borrow().auth.clone();
            open(weak, id, url, auth);
        }
        Transmit::Send { id, frame } => {
            let inner = shared.borrow();
            if let Some(socket) = inner.socket.as_ref().filter(|s| s.id == id) {
                // A failed send is followed by the socket's close event.
                let _ = socket.ws.send_with_str(&frame);
            }
        }
        Transmit::Close { id } => {
            let socket = {
                let mut inner = shared.borrow_mut();
                match &inner.socket {
                    Some(s) if s.id == id => inner.socket.take(),
                    _ => None,
                }
            };
            drop(socket);
        }
    }
}

/// Asks the auth provider (if any), then opens the WebSocket of transport `id`, always from a
/// later microtask (never inside the pump that asked).
fn open(inner: Weak<RefCell<Inner>>, id: u64, url: String, auth: Option<Function>) {
    let ask = auth.is_some();
    // A provider that throws is a rejected promise, like one whose promise rejects.
    let value = match &auth {
        None => JsValue::NULL,
        Some(provider) => provider
            .call0(&JsValue::NULL)
            .unwrap_or_else(|e| Promise::reject(&e).into()),
    };
    // `allSettled` of one promise settles once, so one closure that runs once: nothing leaks.
    let settled = Closure::once_into_js(move |results: JsValue| {
        let result = Reflect::get(&results, &0.into()).unwrap_or_default();
        let field = |name: &str| Reflect::get(&result, &name.into()).unwrap_or_default();
        let auth = if field("status").as_string().as_deref() != Some("fulfilled") {
            Err(format!(
                "auth provider failed: {}",
                js_message(&field("reason"))
            ))
        } else if ask {
            to_json(&field("value"))
                .map(Some)
                .map_err(|e| js_message(&e))
        } else {
            Ok(None)
        };
        connect(&inner, id, &url, auth);
    });
    then(&Promise::all_settled(&Array::of1(&value)), &settled);
}

/// Opens the WebSocket of transport `id` with the auth payload, or reports why it cannot.
fn connect(inner: &Weak<RefCell<Inner>>, id: u64, url: &str, auth: Result<Option<Value>, String>) {
    let Some(shared) = inner.upgrade() else {
        return;
    };
    let opened = auth.and_then(|auth| Socket::open(id, url, auth, inner.clone()));
    match opened {
        Ok(socket) => {
            let old = shared.borrow_mut().socket.replace(socket);
            drop(old);
        }
        Err(reason) => act(&shared, |core, now| core.transport_closed(now, id, &reason)),
    }
}

pub(crate) fn js_message(value: &JsValue) -> String {
    js_sys::Reflect::get(value, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn arm_timer(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    let Some(at) = inner.core.poll_timeout() else {
        inner.timer = None;
        return;
    };
    if inner.timer.as_ref().is_some_and(|(armed, _)| *armed == at) {
        return;
    }
    let delay = at.saturating_sub(now_ms()).min(u32::MAX as u64) as u32;
    let weak = Rc::downgrade(shared);
    let timeout = Timeout::new(delay, move || {
        if let Some(shared) = weak.upgrade() {
            shared.borrow_mut().timer = None;
            act(&shared, |core, now| core.handle_timeout(now));
        }
    });
    inner.timer = Some((at, timeout));
}

fn deliver(shared: &Shared, event: ClientEvent) {
    match event {
        ClientEvent::State(change) => {
            let listeners = shared.borrow().listeners.of("connectionStateChange");
            let value = to_js(&json::object([
                ("state", change.state.as_str().into()),
                ("reason", change.reason.into()),
                ("attempt", change.attempt.into()),
                ("retryInMs", change.retry_in_ms.into()),
            ]));
            notify(&listeners, &value);
        }
        ClientEvent::Completed { id, result } => {
            let waiting = {
                let mut inner = shared.borrow_mut();
                let Some(i) = inner.waiting.iter().position(|(w, _)| *w == id) else {
                    return;
                };
                inner.waiting.swap_remove(i).1
            };
            let settled = match result {
                Ok(completion) => {
                    let value = completion_value(shared, &waiting, completion);
                    waiting.resolve.call1(&JsValue::NULL, &value)
                }
                Err(err) => {
                    if let Some(room) = &waiting.join_room {
                        shared.borrow_mut().channels.remove(room);
                    }
                    waiting.reject.call1(&JsValue::NULL, &client_error(&err))
                }
            };
            let _ = settled;
        }
        ClientEvent::Channel { room, event } => {
            let (name, value) = channel_event(&event);
            let listeners = shared.borrow().channels.of(&room, &name);
            notify(&listeners, &value);
        }
    }
}

fn completion_value(shared: &Shared, waiting: &Waiting, completion: Completion) -> JsValue {
    match completion {
        Completion::Connected | Completion::Left => JsValue::UNDEFINED,
        Completion::Joined(response) => {
            let room = waiting.join_room.clone().unwrap_or_default();
            let result = js_sys::Object::new();
            let channel = PresenceChannel::new(shared.clone(), room);
            let _ = js_sys::Reflect::set(&result, &"channel".into(), &channel.into());
            let _ = js_sys::Reflect::set(&result, &"response".into(), &to_js(&response.to_json()));
            result.into()
        }
        Completion::Updated(response) => to_js(&response.to_json()),
        Completion::Ack(value) => to_js(&value),
    }
}

/// A channel event as the listener name and argument of the JS API.
fn channel_event(event: &ChannelEvent) -> (String, JsValue) {
    match event {
        ChannelEvent::Presence(e) => ("presenceEvent".into(), to_js(&e.to_json())),
        ChannelEvent::Snapshot(s) => ("snapshot".into(), to_js(&snapshot_json(s))),
        ChannelEvent::Connected => ("connected".into(), JsValue::UNDEFINED),
        ChannelEvent::Disconnected { reason } => (
            "disconnected".into(),
            to_js(&json::object([("reason", reason.as_str().into())])),
        ),
        ChannelEvent::Reconnected { snapshot } => (
            "reconnected".into(),
            to_js(&json::object([("snapshot", snapshot_json(snapshot))])),
        ),
        ChannelEvent::HeartbeatAck {
            changed,
            epoch,
            rtt_ms,
        } => (
            "heartbeatAck".into(),
            to_js(&json::object([
                ("changed", (*changed).into()),
                ("epoch", (*epoch).into()),
                ("rttMs", (*rtt_ms).into()),
            ])),
        ),
        ChannelEvent::Error(err) => ("error".into(), client_error(err)),
        ChannelEvent::Custom { event, payload } => (event.clone(), to_js(payload)),
    }
}
