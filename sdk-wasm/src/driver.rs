//! One client's state, and the loop that carries out what the core says: open, send and close
//! the WebSocket, settle promises, call listeners, and keep the one timer at the core's next
//! deadline.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Function, Object, Promise, Reflect};
use rtm_json as json;
use rtm_protocol::wire::snapshot_json;
use rtm_sdk_core::{
    ChannelEvent, Client, ClientEvent, Completion, Instant, RequestId, StorageEntry, Transmit,
};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::channel::PresenceChannel;
use crate::convert::{client_error, to_js};
use crate::lifecycle::Lifecycle;
use crate::listeners::{Listeners, notify};
use crate::storage::{Updating, retry};
use crate::transport::{Socket, SocketClass};

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: ms on a monotonic clock (browsers, workers, Node, Deno, Bun).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The core's clock: whole ms since the page (or process) started, on a monotonic clock.
pub(crate) fn now() -> Instant {
    Instant::from_millis(performance_now() as u64)
}

/// A promise waiting for its request to complete.
pub(crate) struct Waiting {
    pub(crate) resolve: Function,
    pub(crate) reject: Function,
    /// For a join: the room, whose channel the promise resolves with.
    pub(crate) join_room: Option<String>,
    /// For an attempt of a storage `update`: the update, which a conflict retries.
    pub(crate) update: Option<Box<Updating>>,
}

/// Everything one client holds.
pub(crate) struct Inner {
    pub(crate) core: Client,
    /// `options.authProvider`.
    pub(crate) auth: Option<Function>,
    /// `options.WebSocket`, else the global one.
    pub(crate) socket_class: SocketClass,
    /// The transport the core asked to open, while its auth provider is being asked.
    pub(crate) opening: Option<u64>,
    pub(crate) socket: Option<Socket>,
    /// The armed timer and the deadline it is for.
    timer: Option<(Instant, Timeout)>,
    pub(crate) waiting: Vec<(RequestId, Waiting)>,
    /// The client's own listeners (`connectionStateChange`, the server's app events).
    pub(crate) listeners: Listeners,
    /// Each joined room's listeners.
    rooms: Vec<(String, Listeners)>,
    /// The page's listeners, while the client may still connect.
    pub(crate) lifecycle: Option<Lifecycle>,
}

/// A client's state, shared by its JS objects and its callbacks (which hold it weakly).
pub(crate) type Shared = Rc<RefCell<Inner>>;

impl Inner {
    pub(crate) fn new(core: Client, auth: Option<Function>, socket_class: SocketClass) -> Self {
        Self {
            core,
            auth,
            socket_class,
            opening: None,
            socket: None,
            timer: None,
            waiting: Vec::new(),
            listeners: Listeners::default(),
            rooms: Vec::new(),
            lifecycle: None,
        }
    }

    /// The listeners of `room`, made empty if it has none yet.
    pub(crate) fn room(&mut self, room: &str) -> &mut Listeners {
        let i = match self.rooms.iter().position(|(r, _)| r == room) {
            Some(i) => i,
            None => {
                self.rooms.push((room.to_string(), Listeners::default()));
                self.rooms.len() - 1
            }
        };
        &mut self.rooms[i].1
    }

    /// Drops the listeners of `room` (left, or its join refused).
    pub(crate) fn forget_room(&mut self, room: &str) {
        self.rooms.retain(|(r, _)| r != room);
    }

    fn room_handlers(&self, room: &str, name: &str) -> Vec<Function> {
        let listeners = self.rooms.iter().find(|(r, _)| r == room);
        listeners.map(|(_, l)| l.of(name)).unwrap_or_default()
    }
}

/// Hands the core an input with the current time, then carries out what follows.
pub(crate) fn act<T>(shared: &Shared, input: impl FnOnce(&mut Client, Instant) -> T) -> T {
    let out = input(&mut shared.borrow_mut().core, now());
    pump(shared);
    out
}

/// `act` from a callback, which holds the client weakly: nothing once the client is gone.
pub(crate) fn act_weak(weak: &Weak<RefCell<Inner>>, input: impl FnOnce(&mut Client, Instant)) {
    if let Some(shared) = weak.upgrade() {
        act(&shared, input);
    }
}

/// A promise of the request that `start` makes: settled when the core completes it.
pub(crate) fn request(
    shared: &Shared,
    join_room: Option<String>,
    start: impl FnOnce(&mut Client, Instant) -> RequestId,
) -> Promise {
    let id = start(&mut shared.borrow_mut().core, now());
    wait_for(shared, id, join_room, None)
}

/// The promise of request `id` (of a join of `join_room`, or an attempt of `update`), then the
/// outputs its start produced (one copy for every kind of request: `request` itself is generic).
pub(crate) fn wait_for(
    shared: &Shared,
    id: RequestId,
    join_room: Option<String>,
    update: Option<Box<Updating>>,
) -> Promise {
    let mut waits = Some((join_room, update));
    let promise = Promise::new(&mut |resolve, reject| {
        let (join_room, update) = waits.take().unwrap_or_default();
        let waiting = Waiting {
            resolve,
            reject,
            join_room,
            update,
        };
        shared.borrow_mut().waiting.push((id, waiting));
    });
    pump(shared);
    promise
}

/// Carries out everything the core says until it says nothing more, then arms the timer. Each
/// round takes every output first and then acts, with no borrow held while the app's code runs
/// (a listener may call back into the client).
pub(crate) fn pump(shared: &Shared) {
    loop {
        let (transmits, events) = {
            let mut inner = shared.borrow_mut();
            let transmits: Vec<_> = std::iter::from_fn(|| inner.core.poll_transmit()).collect();
            let events: Vec<_> = std::iter::from_fn(|| inner.core.poll_event()).collect();
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
            let (old, auth) = {
                let mut inner = shared.borrow_mut();
                inner.opening = Some(id);
                (inner.socket.take(), inner.auth.clone())
            };
            drop(old);
            crate::auth::ask(Rc::downgrade(shared), id, url, auth);
        }
        Transmit::Send { id, frame } => {
            if let Some(socket) = shared.borrow().socket.as_ref().filter(|s| s.id == id) {
                socket.send(&frame);
            }
        }
        Transmit::Close { id } => {
            let socket = {
                let mut inner = shared.borrow_mut();
                if inner.opening == Some(id) {
                    inner.opening = None;
                }
                match &inner.socket {
                    Some(s) if s.id == id => inner.socket.take(),
                    _ => None,
                }
            };
            drop(socket);
        }
    }
}

/// Opens the WebSocket of transport `id` with the auth provider's answer, or reports why it
/// cannot; nothing when the core has given up on that transport meanwhile.
pub(crate) fn open(
    weak: &Weak<RefCell<Inner>>,
    id: u64,
    url: &str,
    auth: Result<Option<serde_json::Value>, String>,
) {
    let Some(shared) = weak.upgrade() else {
        return;
    };
    let class = {
        let mut inner = shared.borrow_mut();
        if inner.opening != Some(id) {
            return;
        }
        inner.opening = None;
        inner.socket_class.clone()
    };
    match auth.and_then(|auth| Socket::open(&class, id, url, auth, weak.clone())) {
        Ok(socket) => {
            let old = shared.borrow_mut().socket.replace(socket);
            drop(old);
        }
        Err(reason) => act(&shared, |core, now| core.transport_closed(now, id, &reason)),
    }
}

/// Keeps one timer, at the core's next deadline (none when it has none).
fn arm_timer(shared: &Shared) {
    let mut inner = shared.borrow_mut();
    let Some(at) = inner.core.poll_timeout() else {
        inner.timer = None;
        return;
    };
    if inner.timer.as_ref().is_some_and(|(armed, _)| *armed == at) {
        return;
    }
    // In ms (none when the deadline has passed), within what `setTimeout` takes.
    let delay = at.as_millis().saturating_sub(now().as_millis());
    let delay = delay.min(i32::MAX as u64) as u32;
    let weak = Rc::downgrade(shared);
    let timeout = Timeout::new(delay, move || {
        if let Some(shared) = weak.upgrade() {
            // Fired: dropped (wasm-bindgen frees a closure dropped while it runs once it
            // returns), then the core's turn.
            let fired = shared.borrow_mut().timer.take();
            drop(fired);
            act(&shared, |core, now| core.handle_timeout(now));
        }
    });
    inner.timer = Some((at, timeout));
}

/// Hands an event to the app: a promise settled, or listeners called.
fn deliver(shared: &Shared, event: ClientEvent) {
    match event {
        ClientEvent::State(change) => {
            let value = to_js(&json::object([
                ("state", change.state.as_str().into()),
                ("reason", change.reason.into()),
                ("attempt", change.attempt.into()),
                ("retryInMs", change.retry_in_ms.into()),
            ]));
            let handlers = shared.borrow().listeners.of("connectionStateChange");
            notify(&handlers, &value);
        }
        ClientEvent::Completed { id, result } => settle(shared, id, result),
        ClientEvent::Channel { room, event } => {
            let (name, value) = channel_event(event);
            let handlers = shared.borrow().room_handlers(&room, &name);
            notify(&handlers, &value);
        }
        // The server's app events, by name; never mistaken for the client's own event.
        ClientEvent::Server(event) if event.event != "connectionStateChange" => {
            let handlers = shared.borrow().listeners.of(&event.event);
            notify(&handlers, &to_js(&event.payload));
        }
        ClientEvent::Server(_) => {}
    }
}

fn settle(shared: &Shared, id: RequestId, result: Result<Completion, rtm_sdk_core::Error>) {
    let mut waiting = {
        let mut inner = shared.borrow_mut();
        let Some(i) = inner.waiting.iter().position(|(w, _)| *w == id) else {
            return;
        };
        inner.waiting.swap_remove(i).1
    };
    let settled = match result {
        Ok(Completion::StorageWritten { version }) if waiting.update.is_some() => {
            let value = waiting.update.take().expect("checked").value;
            let written = StorageEntry { value, version }.to_json();
            waiting.resolve.call1(&JsValue::UNDEFINED, &to_js(&written))
        }
        Err(err) if waiting.update.is_some() => {
            let update = waiting.update.take().expect("checked");
            retry(shared, waiting, update, err);
            return;
        }
        Ok(completion) => {
            let value = completion_value(shared, &waiting, completion);
            waiting.resolve.call1(&JsValue::UNDEFINED, &value)
        }
        Err(err) => {
            // A refused join drops the room's listeners, unless the room was joined already.
            if let Some(room) = waiting
                .join_room
                .as_deref()
                .filter(|_| err.code() != "invalid_state")
            {
                shared.borrow_mut().forget_room(room);
            }
            waiting
                .reject
                .call1(&JsValue::UNDEFINED, &client_error(&err))
        }
    };
    // Settling a promise never throws.
    let _ = settled;
}

fn completion_value(shared: &Shared, waiting: &Waiting, completion: Completion) -> JsValue {
    match completion {
        Completion::Connected | Completion::Left => JsValue::UNDEFINED,
        Completion::Joined(response) => {
            let room = waiting.join_room.clone().unwrap_or_default();
            shared.borrow_mut().room(&room);
            let result = Object::new();
            let channel = PresenceChannel::new(shared.clone(), room);
            let _ = Reflect::set(&result, &"channel".into(), &channel.into());
            let _ = Reflect::set(&result, &"response".into(), &to_js(&response.to_json()));
            result.into()
        }
        Completion::Updated(response) => to_js(&response.to_json()),
        Completion::Ack(value) => to_js(&value),
        Completion::StorageWritten { version } => JsValue::from_f64(version as f64),
        Completion::StorageDeleted { deleted } => JsValue::from_bool(deleted),
        // `storage_get` is the native SDK's (`fetch`).
        Completion::StorageRead(_) => JsValue::UNDEFINED,
    }
}

/// A channel event as the JS API's listener name and argument.
fn channel_event(event: ChannelEvent) -> (String, JsValue) {
    let (name, value) = match event {
        ChannelEvent::Presence(e) => ("presenceEvent", e.to_json()),
        ChannelEvent::Snapshot(s) => ("snapshot", snapshot_json(&s)),
        ChannelEvent::Page { entries, complete } => (
            "page",
            json::object([
                ("entries", snapshot_json(&entries)),
                ("complete", complete.into()),
            ]),
        ),
        ChannelEvent::Count(count) => return ("count".into(), JsValue::from_f64(count as f64)),
        ChannelEvent::Connected => return ("connected".into(), JsValue::UNDEFINED),
        ChannelEvent::Disconnected { reason } => {
            ("disconnected", json::object([("reason", reason.into())]))
        }
        ChannelEvent::Reconnected { snapshot } => (
            "reconnected",
            json::object([("snapshot", snapshot_json(&snapshot))]),
        ),
        ChannelEvent::HeartbeatAck {
            changed,
            epoch,
            rtt_ms,
        } => (
            "heartbeatAck",
            json::object([
                ("changed", changed.into()),
                ("epoch", epoch.into()),
                ("rttMs", rtt_ms.into()),
            ]),
        ),
        ChannelEvent::StorageLoaded => return ("storageLoaded".into(), JsValue::UNDEFINED),
        ChannelEvent::StorageChanged(change) => ("storageChanged", change.to_json()),
        ChannelEvent::Error(err) => return ("error".into(), client_error(&err)),
        ChannelEvent::Custom { event, payload } => return (event, to_js(&payload)),
    };
    (name.into(), to_js(&value))
}
