//! [`Client`]: the sans-IO state machine behind `RealtimeClient` and `PresenceChannel`.
//!
//! It does no I/O and reads no clock. The adapter feeds it transport events, expired timers and
//! the app's calls, each with the current time (`now`, an [`Instant`] on the adapter's monotonic
//! clock), and drains what it produces: frames to send ([`Client::poll_transmit`]), the next
//! deadline ([`Client::poll_timeout`]) and events for the app ([`Client::poll_event`]). Every
//! deadline is an instant: a timer that fires late (a throttled background tab) just finds more
//! work due. The channels (one per room) own their state and its transitions (`channel`), their
//! storage its load and its view (`storage`).

use core::time::Duration;
use std::collections::VecDeque;

use serde_json::Value;

use crate::channel::{Channel, Due};
use crate::codec::{engineio, socketio};
use crate::config::{ClientConfig, Timing};
use crate::error::Error;
use crate::event::{
    ChannelEvent, ClientEvent, Completion, ConnectionState, RequestId, ServerEvent, StateChange,
    Transmit,
};
use crate::json;
use crate::protocol::{ErrorCode, events, fields};
use crate::small_map::SmallMap;
use crate::storage::{StorageOp, StorageView, refusal};
use crate::time::{Instant, millis};
use crate::view::PresenceView;
use crate::wire::{
    HeartbeatPayload, HeartbeatResponse, JoinPayload, JoinResponse, LeavePayload, MembersResponse,
    PresenceEntry, PresenceEvent, PresenceLevel, SelfInfo, State, StorageChanged, StorageEntries,
    StorageEntry, StorageWrite, ack_result, snapshot_from_json,
};

/// Where the connection is.
#[derive(Debug, Clone, PartialEq)]
enum Conn {
    /// Not connected and not trying.
    Idle,
    /// Transport `id` is being opened (or handshaking); give up at `deadline`.
    Opening { id: u64, deadline: Instant },
    /// Connected on transport `id`; the server must ping before `ping_deadline`.
    Connected { id: u64, ping_deadline: Instant },
    /// Waiting to reconnect at `at`.
    Waiting { at: Instant },
}

/// How soon to reconnect after the connection is lost.
#[derive(Debug, Clone, Copy)]
enum Retry {
    /// After the backoff's delay, counting a failed attempt.
    Backoff,
    /// At once, counting nothing: the server asked the client to move (`rtm:drain`).
    AtOnce,
}

/// A request waiting for its ack.
#[derive(Debug)]
struct Pending {
    deadline: Instant,
    sent_at: Instant,
    kind: PendingKind,
}

#[derive(Debug)]
enum PendingKind {
    Join {
        room: String,
        request: Option<RequestId>,
    },
    Heartbeat {
        room: String,
        /// The epoch it was sent with: its answer is about that join only.
        epoch: u64,
        /// The `update_state` calls this heartbeat answers (none for a periodic one).
        requests: Vec<RequestId>,
    },
    Leave {
        request: RequestId,
    },
    /// A page of `room`'s snapshot (`presence:members`), asked for as ack `ack`.
    Members {
        room: String,
        ack: u64,
    },
    Custom {
        request: RequestId,
    },
    /// `storage:get {roomId}` of `room`, loading its storage view, asked for as ack `ack`.
    StorageLoad {
        room: String,
        ack: u64,
    },
    /// An app's storage request.
    Storage {
        request: RequestId,
        op: StorageOp,
    },
}

/// The client state machine. See the module docs.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    rng: fastrand::Rng,
    conn: Conn,
    transport_id: u64,
    /// The config's durations, in ms.
    timing: Timing,
    /// How long the server may go without a ping (its interval plus its timeout), ms.
    ping_window_ms: u64,
    auth: Option<Value>,
    /// Failed attempts since the last successful connect.
    attempts: u32,
    ever_connected: bool,
    connect_request: Option<RequestId>,
    next_request: u64,
    next_ack: u64,
    pending: SmallMap<u64, Pending>,
    channels: SmallMap<String, Channel>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ClientEvent>,
}

impl Client {
    /// A client with `config`; `seed` seeds the backoff jitter (use a random one in production,
    /// a fixed one in tests).
    pub fn new(config: ClientConfig, seed: u64) -> Self {
        Self {
            timing: Timing::new(&config),
            config,
            rng: fastrand::Rng::with_seed(seed),
            conn: Conn::Idle,
            transport_id: 0,
            ping_window_ms: 45_000,
            auth: None,
            attempts: 0,
            ever_connected: false,
            connect_request: None,
            next_request: 0,
            next_ack: 0,
            pending: SmallMap::default(),
            channels: SmallMap::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // ===== outputs =====

    /// The next thing to do with the transport.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the app.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] must next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conn = match self.conn {
            Conn::Idle => None,
            Conn::Opening { deadline, .. } => Some(deadline),
            Conn::Connected { ping_deadline, .. } => Some(ping_deadline),
            Conn::Waiting { at } => Some(at),
        };
        let pending = self.pending.values().map(|p| p.deadline).min();
        let channels = if matches!(self.conn, Conn::Connected { .. }) {
            self.channels.values().filter_map(Channel::deadline).min()
        } else {
            None
        };
        [conn, pending, channels].into_iter().flatten().min()
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        match self.conn {
            Conn::Connected { .. } => ConnectionState::Connected,
            Conn::Idle => ConnectionState::Disconnected,
            _ if self.ever_connected => ConnectionState::Reconnecting,
            _ => ConnectionState::Connecting,
        }
    }

    /// The view of `room`'s channel.
    pub fn view(&self, room: &str) -> Option<&PresenceView> {
        self.channels.get(room).map(Channel::view)
    }

    /// This client's identity in `room` while joined: the last join's answer, at the epoch now
    /// in force.
    pub fn self_info(&self, room: &str) -> Option<SelfInfo> {
        self.channels.get(room)?.identity().cloned()
    }

    /// Whether the view of `room` holds the room's whole snapshot: joined, and every page of its
    /// last snapshot read (a large room's snapshot comes in pages; see [`ChannelEvent::Page`]).
    pub fn is_complete(&self, room: &str) -> bool {
        self.channels.get(room).is_some_and(Channel::is_complete)
    }

    /// How many connections `room` has, as far as its channel knows: for a
    /// [`PresenceLevel::Count`] member the server's latest count (its join's `total`, then each
    /// `presence:count`; `None` before the first); for an [`PresenceLevel::Events`] member the
    /// view's number of connections (`None` before the first join's answer; short of the room's
    /// while a paged snapshot is still being read: see [`Client::is_complete`]).
    pub fn count(&self, room: &str) -> Option<u64> {
        self.channels.get(room)?.count()
    }

    /// The storage of `room` as this client knows it: loaded after every join (a rejoin, a
    /// resume) and kept current from the room's `storage:changed`; not loaded before the first
    /// load's answer ([`ChannelEvent::StorageLoaded`]). `None` when there is no channel of `room`.
    pub fn storage(&self, room: &str) -> Option<&StorageView> {
        self.channels.get(room).map(|c| c.storage().view())
    }

    /// The state this client holds for itself in `room` (what a rejoin sends).
    pub fn own_state(&self, room: &str) -> Option<&State> {
        self.channels.get(room).map(Channel::state)
    }

    /// The rooms with a channel.
    pub fn rooms(&self) -> Vec<String> {
        self.channels.keys().cloned().collect()
    }

    // ===== app calls =====

    /// Connects; completes with [`Completion::Connected`], or fails with `ConnectRefused` or
    /// `Transport` (the first connection is not retried; later losses are).
    pub fn connect(&mut self, now: Instant) -> RequestId {
        let id = self.request_id();
        match self.conn {
            Conn::Connected { .. } => self.complete(id, Ok(Completion::Connected)),
            Conn::Idle => {
                self.connect_request = Some(id);
                self.ever_connected = false;
                self.attempts = 0;
                self.open(now, "connect() called");
            }
            _ => {
                if let Some(previous) = self.connect_request.replace(id) {
                    self.complete(
                        previous,
                        Err(Error::InvalidState(
                            "superseded by another connect()".into(),
                        )),
                    );
                }
            }
        }
        id
    }

    /// Joins `room` as `user_id` with `state`, receiving `presence` of the room (every event, or
    /// only its count: [`ChannelEvent::Count`]); completes with the join response (whose snapshot
    /// may be the first page of the room's: the others follow as [`ChannelEvent::Page`]s).
    pub fn join_room(
        &mut self,
        now: Instant,
        room: &str,
        user_id: &str,
        state: State,
        presence: PresenceLevel,
    ) -> RequestId {
        let id = self.request_id();
        if self.channels.contains_key(room) {
            self.complete(
                id,
                Err(Error::InvalidState(format!("already in room {room}"))),
            );
            return id;
        }
        if !self.is_connected() {
            self.complete(id, Err(Error::Disconnected));
            return id;
        }
        let channel = Channel::new(user_id.to_string(), state, presence);
        self.channels.insert(room.to_string(), channel);
        self.send_join(now, room, Some(id));
        id
    }

    /// Merges `patch` into the channel's state and sends it with a heartbeat; completes with the
    /// ack. With `presence.throttle`, an update within the window after the last one sent waits
    /// for the window's end and goes out merged with the others of that window (latest value of
    /// each key wins); each of them completes with that one heartbeat's ack. While not joined, the
    /// patch is kept for the next (re)join and the request fails with `Disconnected`.
    pub fn update_state(&mut self, now: Instant, room: &str, patch: State) -> RequestId {
        let id = self.request_id();
        let connected = self.is_connected();
        let throttle_ms = self.timing.throttle_ms;
        let Some(channel) = self.channels.get_mut(room) else {
            self.complete(id, Err(Error::InvalidState(format!("not in room {room}"))));
            return id;
        };
        channel.merge_state(&patch);
        if !connected || channel.epoch().is_none() {
            self.complete(id, Err(Error::Disconnected));
            return id;
        }
        if let Some(patch) = channel.throttle_patch(now, patch, id, throttle_ms) {
            self.send_heartbeat(now, room, Some(patch), vec![id]);
        }
        id
    }

    /// Sends an event without an ack. Fails with `Disconnected` when not connected.
    pub fn emit(&mut self, event: &str, payload: Value) -> Result<(), Error> {
        let Conn::Connected { id, .. } = self.conn else {
            return Err(Error::Disconnected);
        };
        let packet = socketio::Packet::Event {
            name: event.to_string(),
            args: vec![payload],
            ack: None,
        };
        self.send_packet(id, &packet);
        Ok(())
    }

    /// Sends an event and waits for the server's answer, at most `timeout` (default: the
    /// request timeout); completes with [`Completion::Ack`].
    pub fn emit_with_ack(
        &mut self,
        now: Instant,
        event: &str,
        payload: Value,
        timeout: Option<Duration>,
    ) -> RequestId {
        let id = self.request_id();
        if !self.is_connected() {
            self.complete(id, Err(Error::Disconnected));
            return id;
        }
        let timeout_ms = timeout.map_or(self.timing.request_timeout_ms, millis);
        self.send_request(
            now,
            event,
            payload,
            timeout_ms,
            PendingKind::Custom { request: id },
        );
        id
    }

    /// Writes `value` to `key` of `room`'s storage; with `if_version`, only when the key is at
    /// that version (0: only when absent), else it fails with [`Error::Conflict`], which carries
    /// the key as it is. Completes with [`Completion::StorageWritten`]. The view takes the write
    /// when its `storage:changed` arrives. Fails with `InvalidState` without a channel of `room`
    /// and with `Disconnected` when not connected; refusals (a `null` value, limits) are the
    /// server's.
    #[inline]
    pub fn storage_set(
        &mut self,
        now: Instant,
        room: &str,
        key: &str,
        value: Value,
        if_version: Option<u64>,
    ) -> RequestId {
        self.storage_write(now, room, key, Some(value), if_version)
    }

    /// Deletes `key` of `room`'s storage; with `if_version`, only when the key is at that
    /// version (else [`Error::Conflict`]). Completes with [`Completion::StorageDeleted`]; fails
    /// as [`Client::storage_set`] does.
    #[inline]
    pub fn storage_delete(
        &mut self,
        now: Instant,
        room: &str,
        key: &str,
        if_version: Option<u64>,
    ) -> RequestId {
        self.storage_write(now, room, key, None, if_version)
    }

    /// [`Client::storage_set`] with `Some(value)`, [`Client::storage_delete`] with `None`: one
    /// call for both (the browser SDK's, whose WebAssembly then holds one copy of it).
    pub fn storage_write(
        &mut self,
        now: Instant,
        room: &str,
        key: &str,
        value: Option<Value>,
        if_version: Option<u64>,
    ) -> RequestId {
        let (event, op) = match value {
            Some(_) => (events::STORAGE_SET, StorageOp::Set),
            None => (events::STORAGE_DELETE, StorageOp::Delete),
        };
        let write = StorageWrite {
            room_id: room.to_string(),
            key: key.to_string(),
            value,
            if_version,
        };
        self.storage_request(now, room, event, write.into_json(), op)
    }

    /// Reads `key` of `room`'s storage from the server (the view has it too, as of the last
    /// change that arrived); completes with [`Completion::StorageRead`]; fails as
    /// [`Client::storage_set`] does.
    pub fn storage_get(&mut self, now: Instant, room: &str, key: &str) -> RequestId {
        // `{roomId, key}`, written in place.
        let payload = json::object([(fields::ROOM_ID, room.into()), (fields::KEY, key.into())]);
        self.storage_request(now, room, events::STORAGE_GET, payload, StorageOp::Get)
    }

    /// Leaves `room`: the channel is gone at once; completes with [`Completion::Left`] after the
    /// server's ack, its timeout, or a disconnect (it never fails).
    pub fn leave(&mut self, now: Instant, room: &str) -> RequestId {
        let id = self.request_id();
        let channel = self.channels.remove(room);
        let had_channel = channel.is_some();
        let mut waiting = channel.map(Channel::left).unwrap_or_default();
        self.pending.retain(|_, p| match &p.kind {
            PendingKind::Heartbeat {
                room: r, requests, ..
            } if r == room => {
                waiting.extend(requests);
                false
            }
            PendingKind::Join { room: r, request } if r == room => {
                waiting.extend(*request);
                false
            }
            PendingKind::Members { room: r, .. } | PendingKind::StorageLoad { room: r, .. } => {
                r != room
            }
            // The app's storage requests went before the leave: their answers come.
            _ => true,
        });
        for request in waiting {
            self.complete(
                request,
                Err(Error::InvalidState(format!("left room {room}"))),
            );
        }
        if had_channel && self.is_connected() {
            let timeout_ms = self.timing.request_timeout_ms;
            self.send_request(
                now,
                events::PRESENCE_LEAVE,
                leave_payload(room),
                timeout_ms,
                PendingKind::Leave { request: id },
            );
        } else {
            self.complete(id, Ok(Completion::Left));
        }
        id
    }

    /// Disconnects for good: every pending request fails with `Disconnected`, channels are
    /// dropped, nothing reconnects.
    pub fn disconnect(&mut self, now: Instant) {
        let _ = now;
        if let Conn::Connected { id, .. } = self.conn {
            // Leave each room explicitly, then the namespace: others see this client go at once.
            let joined: Vec<String> = self
                .channels
                .iter()
                .filter(|(_, c)| c.epoch().is_some())
                .map(|(room, _)| room.clone())
                .collect();
            for room in joined {
                let leave = socketio::Packet::Event {
                    name: events::PRESENCE_LEAVE.into(),
                    args: vec![leave_payload(&room)],
                    ack: None,
                };
                self.send_packet(id, &leave);
            }
            self.send_packet(id, &socketio::Packet::Disconnect);
        }
        self.close_transport();
        self.fail_pending();
        for (room, channel) in self.channels.take() {
            let held = channel.left();
            self.fail_all(held, &Error::Disconnected);
            self.channel_event(
                &room,
                ChannelEvent::Disconnected {
                    reason: "client disconnect".into(),
                },
            );
        }
        if let Some(request) = self.connect_request.take() {
            self.complete(request, Err(Error::Disconnected));
        }
        if self.conn != Conn::Idle {
            self.conn = Conn::Idle;
            self.set_state(ConnectionState::Disconnected, "client disconnect", 0, None);
        }
    }

    // ===== transport events =====

    /// Transport `id` is open; `auth` is what the app's auth provider gave for this attempt.
    pub fn transport_opened(&mut self, now: Instant, id: u64, auth: Option<Value>) {
        let _ = now;
        if id == self.transport_id && matches!(self.conn, Conn::Opening { .. }) {
            self.auth = auth;
        }
    }

    /// Transport `id` could not be opened, or closed.
    pub fn transport_closed(&mut self, now: Instant, id: u64, reason: &str) {
        if id != self.transport_id || matches!(self.conn, Conn::Idle | Conn::Waiting { .. }) {
            return;
        }
        self.lost(now, reason);
    }

    /// A text frame arrived on transport `id`.
    pub fn transport_frame(&mut self, now: Instant, id: u64, frame: &str) {
        if id != self.transport_id || matches!(self.conn, Conn::Idle | Conn::Waiting { .. }) {
            return;
        }
        match engineio::Packet::decode(frame) {
            Ok(engineio::Packet::Open(handshake)) => {
                let window = handshake
                    .ping_interval
                    .saturating_add(handshake.ping_timeout);
                self.ping_window_ms = window;
                let connect = socketio::Packet::Connect(self.auth.take());
                self.send_packet(id, &connect);
            }
            Ok(engineio::Packet::Ping(probe)) => {
                if let Conn::Connected { ping_deadline, .. } = &mut self.conn {
                    *ping_deadline = now.add_ms(self.ping_window_ms);
                }
                self.transmits.push_back(Transmit::Send {
                    id,
                    frame: engineio::Packet::Pong(probe).encode(),
                });
            }
            Ok(engineio::Packet::Message(text)) => {
                // A packet rtm does not understand changes nothing.
                if let Ok(packet) = socketio::Packet::decode(&text) {
                    self.on_packet(now, id, packet);
                }
            }
            Ok(engineio::Packet::Close) => self.lost(now, "server closed the session"),
            Ok(engineio::Packet::Pong(_) | engineio::Packet::Noop) | Err(_) => {}
        }
    }

    /// Time passed: handles every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.conn {
            Conn::Opening { deadline, .. } if deadline <= now => {
                self.lost(now, "connect timeout");
                return;
            }
            Conn::Connected { ping_deadline, .. } if ping_deadline <= now => {
                self.lost(now, "ping timeout");
                return;
            }
            Conn::Waiting { at } if at <= now => {
                self.open(now, "reconnecting");
                return;
            }
            _ => {}
        }
        let due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(ack, _)| *ack)
            .collect();
        for ack in due {
            if let Some(pending) = self.pending.remove(&ack) {
                self.on_timeout(now, pending);
                if !self.is_connected() {
                    return;
                }
            }
        }
        if !self.is_connected() {
            return;
        }
        // What each room has to do is read as its turn comes: a room's action changes no other.
        let rooms: Vec<String> = self.channels.keys().cloned().collect();
        for room in rooms {
            let Some(action) = self.channels.get(&room).and_then(|c| c.due(now)) else {
                continue;
            };
            match action {
                Due::Join => self.send_join(now, &room, None),
                Due::Patch => self.flush_throttled(now, &room),
                Due::Heartbeat => self.send_heartbeat(now, &room, None, Vec::new()),
                Due::LoadStorage => self.load_storage(now, &room),
            }
        }
    }

    // ===== internals =====

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    fn is_connected(&self) -> bool {
        matches!(self.conn, Conn::Connected { .. })
    }

    fn complete(&mut self, id: RequestId, result: Result<Completion, Error>) {
        self.events.push_back(ClientEvent::Completed { id, result });
    }

    fn channel_event(&mut self, room: &str, event: ChannelEvent) {
        self.events.push_back(ClientEvent::Channel {
            room: room.to_string(),
            event,
        });
    }

    fn set_state(
        &mut self,
        state: ConnectionState,
        reason: &str,
        attempt: u32,
        retry_in_ms: Option<u64>,
    ) {
        self.events.push_back(ClientEvent::State(StateChange {
            state,
            reason: reason.to_string(),
            attempt,
            retry_in_ms,
        }));
    }

    fn open(&mut self, now: Instant, reason: &str) {
        self.transport_id += 1;
        self.conn = Conn::Opening {
            id: self.transport_id,
            deadline: now.add_ms(self.timing.connect_timeout_ms),
        };
        self.auth = None;
        self.transmits.push_back(Transmit::Open {
            id: self.transport_id,
            url: engineio::websocket_url(&self.config.base_url),
        });
        let state = self.state();
        self.set_state(state, reason, self.attempts, None);
    }

    fn close_transport(&mut self) {
        if matches!(self.conn, Conn::Opening { .. } | Conn::Connected { .. }) {
            self.transmits.push_back(Transmit::Close {
                id: self.transport_id,
            });
        }
    }

    fn send_packet(&mut self, id: u64, packet: &socketio::Packet) {
        self.transmits.push_back(Transmit::Send {
            id,
            frame: engineio::Packet::Message(packet.encode()).encode(),
        });
    }

    fn send_request(
        &mut self,
        now: Instant,
        event: &str,
        payload: Value,
        timeout_ms: u64,
        kind: PendingKind,
    ) {
        let Conn::Connected { id, .. } = self.conn else {
            unreachable!("requests are only sent while connected");
        };
        let ack = self.next_ack;
        self.next_ack += 1;
        let packet = socketio::Packet::Event {
            name: event.to_string(),
            args: vec![payload],
            ack: Some(ack),
        };
        self.send_packet(id, &packet);
        self.pending.insert(
            ack,
            Pending {
                deadline: now.add_ms(timeout_ms),
                sent_at: now,
                kind,
            },
        );
    }

    /// Sends the app's storage request `event` about `room`, read as `op` says.
    fn storage_request(
        &mut self,
        now: Instant,
        room: &str,
        event: &str,
        payload: Value,
        op: StorageOp,
    ) -> RequestId {
        let id = self.request_id();
        if !self.channels.contains_key(room) {
            self.complete(id, Err(Error::InvalidState(format!("not in room {room}"))));
        } else if !self.is_connected() {
            self.complete(id, Err(Error::Disconnected));
        } else {
            let timeout_ms = self.timing.request_timeout_ms;
            let kind = PendingKind::Storage { request: id, op };
            self.send_request(now, event, payload, timeout_ms, kind);
        }
        id
    }

    /// Loads `room`'s storage (`storage:get {roomId}`); its answer replaces the view.
    fn load_storage(&mut self, now: Instant, room: &str) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        let ack = self.next_ack;
        channel.storage_mut().load_sent(ack);
        let payload = json::object([(fields::ROOM_ID, room.into())]);
        let timeout_ms = self.timing.request_timeout_ms;
        let kind = PendingKind::StorageLoad {
            room: room.to_string(),
            ack,
        };
        self.send_request(now, events::STORAGE_GET, payload, timeout_ms, kind);
    }

    /// Sends the throttled patch of `room` with a heartbeat.
    fn flush_throttled(&mut self, now: Instant, room: &str) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        let Some((patch, requests)) = channel.release_patch(now) else {
            return;
        };
        self.send_heartbeat(now, room, Some(patch), requests);
    }

    /// Fails each of `requests` with `error`.
    fn fail_all(&mut self, requests: Vec<RequestId>, error: &Error) {
        for request in requests {
            self.complete(request, Err(error.clone()));
        }
    }

    fn send_join(&mut self, now: Instant, room: &str, request: Option<RequestId>) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        // Updates held back by the throttle fail: their patch is in the state the join sends.
        let held = channel.join_sent();
        let payload = JoinPayload {
            room_id: room.to_string(),
            user_id: channel.user_id().to_string(),
            state: channel.state().clone(),
            // A rejoin takes the last join's entry over, unseen by the others, while the server
            // still keeps it (`docs/protocol.md`, "Resume").
            resume: channel.resume(),
            presence: channel.level(),
            // rtm's SDKs always take a room's events batched (`presence:events`).
            batch: true,
        }
        .into_json();
        let timeout_ms = self.timing.request_timeout_ms;
        self.fail_all(held, &Error::Disconnected);
        self.send_request(
            now,
            events::PRESENCE_JOIN,
            payload,
            timeout_ms,
            PendingKind::Join {
                room: room.to_string(),
                request,
            },
        );
    }

    fn send_heartbeat(
        &mut self,
        now: Instant,
        room: &str,
        patch: Option<State>,
        requests: Vec<RequestId>,
    ) {
        let interval_ms = self.timing.heartbeat_interval_ms;
        let timeout_ms = self.timing.ack_timeout_ms;
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        let Some(epoch) = channel.epoch() else { return };
        let digest = channel.heartbeat_sent(now, interval_ms);
        let payload = HeartbeatPayload {
            room_id: Some(room.to_string()),
            epoch,
            patch_state: patch,
            digest,
        }
        .into_json();
        self.send_request(
            now,
            events::PRESENCE_HEARTBEAT,
            payload,
            timeout_ms,
            PendingKind::Heartbeat {
                room: room.to_string(),
                epoch,
                requests,
            },
        );
    }

    /// Fails every pending request with `Disconnected`.
    fn fail_pending(&mut self) {
        for (_, pending) in self.pending.take() {
            match pending.kind {
                PendingKind::Join {
                    request: Some(r),
                    room,
                } => {
                    self.channels.remove(&room);
                    self.complete(r, Err(Error::Disconnected));
                }
                PendingKind::Heartbeat { requests, .. } => {
                    for r in requests {
                        self.complete(r, Err(Error::Disconnected));
                    }
                }
                PendingKind::Custom { request: r } | PendingKind::Storage { request: r, .. } => {
                    self.complete(r, Err(Error::Disconnected))
                }
                PendingKind::Leave { request } => self.complete(request, Ok(Completion::Left)),
                // The lost connection stops the channel's paging run and storage load (the
                // rejoin loads it again).
                PendingKind::Join { request: None, .. }
                | PendingKind::Members { .. }
                | PendingKind::StorageLoad { .. } => {}
            }
        }
    }

    /// The connection is gone: fail what waits, then reconnect after a backoff (or not).
    fn lost(&mut self, now: Instant, reason: &str) {
        self.lose_connection(now, reason, Retry::Backoff);
    }

    /// `rtm:drain`: the server's node shuts down. Close the transport like a lost one, without a
    /// DISCONNECT or leaves (the server keeps the entries for the grace), and reconnect at once:
    /// a load balancer sends the new connection to another node, where the channels resume.
    fn on_drain(&mut self, now: Instant) {
        self.lose_connection(now, "server draining", Retry::AtOnce);
    }

    /// Closes the transport, fails what waits, then reconnects as `retry` says (or not).
    fn lose_connection(&mut self, now: Instant, reason: &str, retry: Retry) {
        self.close_transport();
        self.fail_pending();
        // The connection's new state first, so that a channel's `Disconnected` listener already
        // sees the client as reconnecting (or disconnected).
        let keep_channels = self.next_after_loss(now, reason, retry);
        let rooms: Vec<String> = self.channels.keys().cloned().collect();
        for room in &rooms {
            let channel = self.channels.get_mut(room).expect("listed");
            let was_joined = channel.epoch().is_some();
            let held = channel.connection_lost();
            self.fail_all(held, &Error::Disconnected);
            if !keep_channels {
                self.channels.remove(room);
            }
            if was_joined {
                let reason = reason.to_string();
                self.channel_event(room, ChannelEvent::Disconnected { reason });
            }
        }
    }

    /// Moves to the state that follows a lost connection and announces it; false when nothing
    /// will reconnect (the channels are then dropped).
    fn next_after_loss(&mut self, now: Instant, reason: &str, retry: Retry) -> bool {
        if !self.ever_connected {
            self.conn = Conn::Idle;
            let error = Error::Transport(reason.to_string());
            if let Some(request) = self.connect_request.take() {
                self.complete(request, Err(error));
            }
            self.set_state(ConnectionState::Disconnected, reason, 0, None);
            return true;
        }
        let reconnect = &self.config.reconnection;
        let exhausted = reconnect
            .max_attempts
            .is_some_and(|max| self.attempts >= max);
        if !reconnect.enabled || exhausted {
            self.conn = Conn::Idle;
            let reason = if exhausted {
                Error::GaveUp {
                    attempts: self.attempts,
                }
                .to_string()
            } else {
                reason.to_string()
            };
            self.set_state(ConnectionState::Disconnected, &reason, self.attempts, None);
            return false;
        }
        // An attempt at once is not counted: should it fail, the backoff starts from the first.
        let (delay_ms, attempt) = match retry {
            Retry::AtOnce => (0, self.attempts + 1),
            Retry::Backoff => {
                let delay_ms = self.timing.backoff.delay_ms(self.attempts, &mut self.rng);
                self.attempts += 1;
                (delay_ms, self.attempts)
            }
        };
        self.conn = Conn::Waiting {
            at: now.add_ms(delay_ms),
        };
        self.set_state(
            ConnectionState::Reconnecting,
            reason,
            attempt,
            Some(delay_ms),
        );
        true
    }

    fn on_packet(&mut self, now: Instant, id: u64, packet: socketio::Packet) {
        match packet {
            socketio::Packet::Connect(_) => self.on_connected(now, id),
            socketio::Packet::ConnectError(message) => {
                if self.ever_connected {
                    self.lost(now, &format!("connection refused: {message}"));
                } else {
                    self.close_transport();
                    self.conn = Conn::Idle;
                    if let Some(request) = self.connect_request.take() {
                        self.complete(request, Err(Error::ConnectRefused(message.clone())));
                    }
                    self.set_state(
                        ConnectionState::Disconnected,
                        &format!("connection refused: {message}"),
                        0,
                        None,
                    );
                }
            }
            socketio::Packet::Disconnect => self.lost(now, "server disconnected the socket"),
            socketio::Packet::Event { name, mut args, .. } => {
                let payload = if args.is_empty() {
                    Value::Null
                } else {
                    args.swap_remove(0)
                };
                self.on_event(now, name, payload);
            }
            socketio::Packet::Ack { id: ack, mut args } => {
                let Some(pending) = self.pending.remove(&ack) else {
                    return;
                };
                let value = if args.is_empty() {
                    Value::Null
                } else {
                    args.swap_remove(0)
                };
                self.on_ack(now, pending, value);
            }
            socketio::Packet::Binary => {}
        }
    }

    fn on_connected(&mut self, now: Instant, id: u64) {
        if !matches!(self.conn, Conn::Opening { .. }) {
            return;
        }
        let reconnected = self.ever_connected;
        self.conn = Conn::Connected {
            id,
            ping_deadline: now.add_ms(self.ping_window_ms),
        };
        self.ever_connected = true;
        self.attempts = 0;
        self.set_state(
            ConnectionState::Connected,
            if reconnected {
                "reconnected"
            } else {
                "connected"
            },
            0,
            None,
        );
        if let Some(request) = self.connect_request.take() {
            self.complete(request, Ok(Completion::Connected));
        }
        let rooms: Vec<String> = self.channels.keys().cloned().collect();
        for room in rooms {
            self.send_join(now, &room, None);
        }
    }

    fn on_event(&mut self, now: Instant, name: String, payload: Value) {
        if name == events::DRAIN {
            self.on_drain(now);
            return;
        }
        if name == events::PRESENCE_SYNC {
            self.on_sync(now, &payload);
            return;
        }
        if name == events::STORAGE_CHANGED {
            if let Some(change) = StorageChanged::from_json(&payload) {
                self.on_storage_changed(change);
            }
            return;
        }
        let batch = name == events::PRESENCE_EVENTS;
        if batch || name == events::PRESENCE_EVENT {
            // A batch's events, in order, each exactly as if it came alone (one reader of
            // events for both: its WebAssembly once); an unreadable one changes nothing.
            let events = match payload.get(fields::EVENTS) {
                Some(Value::Array(events)) if batch => events.as_slice(),
                _ if batch => &[],
                _ => core::slice::from_ref(&payload),
            };
            for event in events {
                if let Some(event) = PresenceEvent::from_json(event) {
                    self.on_presence_event(event);
                }
            }
            return;
        }
        if name == events::PRESENCE_COUNT {
            // `PresenceCount`'s fields, read in place.
            if let Some(Value::String(room)) = payload.get(fields::ROOM_ID) {
                self.on_count(room, json::uint(&payload, fields::COUNT));
            }
            return;
        }
        // An app event goes to the channel its payload names, or to every channel.
        let target = payload
            .get(fields::ROOM_ID)
            .and_then(Value::as_str)
            .map(str::to_string);
        let rooms: Vec<String> = match target {
            Some(room) if self.channels.contains_key(&room) => vec![room],
            Some(_) => Vec::new(),
            None => self.channels.keys().cloned().collect(),
        };
        for room in rooms {
            self.channel_event(
                &room,
                ChannelEvent::Custom {
                    event: name.clone(),
                    payload: payload.clone(),
                },
            );
        }
        self.events.push_back(ClientEvent::Server(ServerEvent {
            event: name,
            payload,
        }));
    }

    fn on_ack(&mut self, now: Instant, pending: Pending, value: Value) {
        // Only a storage write's `conflict` carries a `current`.
        let current = StorageEntry::from_conflict(&value);
        let result = ack_result(value).map_err(|e| refusal(e, current));
        match pending.kind {
            PendingKind::Storage { request, op } => {
                let answer = result.and_then(|v| op.answer(&v).ok_or_else(invalid_response));
                self.complete(request, answer);
            }
            PendingKind::Custom { request } => {
                self.complete(request, result.map(Completion::Ack));
            }
            PendingKind::Leave { request } => self.complete(request, Ok(Completion::Left)),
            PendingKind::Join { room, request } => {
                let parsed =
                    result.and_then(|v| JoinResponse::from_json(&v).ok_or_else(invalid_response));
                self.on_join_answer(now, &room, request, parsed);
            }
            PendingKind::Heartbeat {
                room,
                epoch,
                requests,
            } => {
                let parsed = result
                    .and_then(|v| HeartbeatResponse::from_json(&v).ok_or_else(invalid_response));
                self.on_heartbeat_answer(now, pending.sent_at, &room, epoch, requests, parsed);
            }
            PendingKind::Members { room, ack } => {
                let parsed = result
                    .and_then(|v| MembersResponse::from_json(&v).ok_or_else(invalid_response));
                self.on_page(now, &room, ack, parsed);
            }
            PendingKind::StorageLoad { room, ack } => {
                let parsed =
                    result.and_then(|v| StorageEntries::from_json(&v).ok_or_else(invalid_response));
                self.on_storage_load(now, &room, ack, parsed);
            }
        }
    }

    /// The answer to storage load `ack` of `room`: the view takes it when it is the load in
    /// flight, and the app hears; a failure is reported, and retried after a backoff when the
    /// server may answer better later (the codes of [`RETRY_JOIN`]).
    fn on_storage_load(
        &mut self,
        now: Instant,
        room: &str,
        ack: u64,
        answer: Result<StorageEntries, Error>,
    ) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        let storage = channel.storage_mut();
        match answer {
            Ok(entries) => {
                if storage.loaded(ack, entries) {
                    self.channel_event(room, ChannelEvent::StorageLoaded);
                }
            }
            Err(error) => {
                let retry = RETRY_JOIN.contains(&error.code());
                let backoff = self.timing.backoff;
                // A server without the storage module: the view stays unloaded, and that is all.
                let unsupported = error.code() == ErrorCode::UnknownEvent.as_str();
                if storage.load_failed(now, ack, retry, backoff, &mut self.rng) && !unsupported {
                    self.channel_event(room, ChannelEvent::Error(error));
                }
            }
        }
    }

    /// A `storage:changed`: the channel of its room holds it or applies it; the app hears when
    /// the view took it.
    fn on_storage_changed(&mut self, change: StorageChanged) {
        let room = change.room_id.clone();
        let Some(channel) = self.channels.get_mut(&room) else {
            return;
        };
        if let Some(change) = channel.storage_mut().changed(change) {
            self.channel_event(&room, ChannelEvent::StorageChanged(change));
        }
    }

    /// A `presence:event`, alone or in a `presence:events` batch: buffered, applied or dropped
    /// as the channel of its room says; the app hears of it when it changed the view.
    #[inline]
    fn on_presence_event(&mut self, event: PresenceEvent) {
        let room = event.room_id.clone();
        let Some(channel) = self.channels.get_mut(&room) else {
            return;
        };
        if let Some(event) = channel.presence_event(event) {
            self.channel_event(&room, ChannelEvent::Presence(event));
        }
    }

    /// The server's number of connections in `room` (a `total`, a `presence:count`), if it said
    /// one: a `"count"` member's app hears when it changed.
    fn on_count(&mut self, room: &str, count: Option<u64>) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        if let Some(count) = channel.server_count(count) {
            self.channel_event(room, ChannelEvent::Count(count));
        }
    }

    /// `presence:sync {roomId, snapshot, total, cursor}`: the server's node lost events of the
    /// room (its subscription dropped); the snapshot replaces the view, as a rejoin's does.
    fn on_sync(&mut self, now: Instant, payload: &Value) {
        // `PresenceSync`'s fields, read in place.
        let Some(Value::String(room)) = payload.get(fields::ROOM_ID) else {
            return;
        };
        let Some(snapshot) = payload.get(fields::SNAPSHOT).and_then(snapshot_from_json) else {
            return;
        };
        let total = json::uint(payload, fields::TOTAL);
        let cursor = json::string(payload, fields::CURSOR);
        self.replace_view(now, room, &snapshot, total, cursor);
        // The node may have missed the room's storage changes too: load it again.
        if self.channels.get(room).is_some_and(|c| c.epoch().is_some()) {
            self.load_storage(now, room);
        }
    }

    /// Replaces the view of `room`, while joined, with a snapshot of the room the server sent
    /// (`presence:sync`, or a heartbeat ack that found the digests differ), and tells the app;
    /// with a `cursor` it is the first page, and the others are asked for. Events that arrive
    /// later apply on top of it.
    fn replace_view(
        &mut self,
        now: Instant,
        room: &str,
        snapshot: &[PresenceEntry],
        total: Option<u64>,
        cursor: Option<String>,
    ) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        let Some(connections) = channel.resync(now, snapshot, cursor.is_some()) else {
            return;
        };
        let read = ChannelEvent::Snapshot(connections);
        self.snapshot_read(now, room, read, total, cursor);
    }

    /// A snapshot's page (`read`: the first one's `Snapshot`, a later one's `Page`) went into
    /// the view of `room`: the app hears of it and of the room's `total`, and with a `cursor` the
    /// next page is asked for.
    fn snapshot_read(
        &mut self,
        now: Instant,
        room: &str,
        read: ChannelEvent,
        total: Option<u64>,
        cursor: Option<String>,
    ) {
        self.channel_event(room, read);
        self.on_count(room, total);
        if let Some(cursor) = cursor {
            self.request_page(now, room, cursor);
        }
    }

    /// Asks for the page of `room`'s snapshot after `cursor`.
    fn request_page(&mut self, now: Instant, room: &str, cursor: String) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        let ack = self.next_ack;
        channel.page_requested(ack);
        // `MembersPayload` without its `limit` (the server's page size), written in place.
        let payload = json::object([
            (fields::ROOM_ID, room.into()),
            (fields::CURSOR, cursor.into()),
        ]);
        let timeout_ms = self.timing.request_timeout_ms;
        let kind = PendingKind::Members {
            room: room.to_string(),
            ack,
        };
        self.send_request(now, events::PRESENCE_MEMBERS, payload, timeout_ms, kind);
    }

    /// The answer to page request `ack` of `room`: merged into the view and the next asked for,
    /// when it is the current run's; a failure stops the run (the next snapshot starts over).
    fn on_page(
        &mut self,
        now: Instant,
        room: &str,
        ack: u64,
        answer: Result<MembersResponse, Error>,
    ) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        match answer {
            Ok(page) => {
                let complete = page.cursor.is_none();
                let Some(entries) = channel.page(ack, page.snapshot, !complete) else {
                    return;
                };
                let read = ChannelEvent::Page { entries, complete };
                self.snapshot_read(now, room, read, page.total, page.cursor);
            }
            Err(error) => {
                if channel.page_failed(ack) {
                    self.channel_event(room, ChannelEvent::Error(error));
                }
            }
        }
    }

    fn on_join_answer(
        &mut self,
        now: Instant,
        room: &str,
        request: Option<RequestId>,
        answer: Result<JoinResponse, Error>,
    ) {
        let interval_ms = self.timing.heartbeat_interval_ms;
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        match answer {
            Ok(response) => {
                let first = !channel.ever_joined();
                let snapshot = channel.joined(now, &response, interval_ms);
                let read = ChannelEvent::Snapshot(snapshot.clone());
                let (total, cursor) = (response.total, response.cursor.clone());
                self.snapshot_read(now, room, read, total, cursor);
                if first {
                    self.channel_event(room, ChannelEvent::Connected);
                } else {
                    self.channel_event(room, ChannelEvent::Reconnected { snapshot });
                }
                self.load_storage(now, room);
                if let Some(request) = request {
                    self.complete(request, Ok(Completion::Joined(response)));
                }
            }
            Err(error) => {
                if let Some(request) = request {
                    self.channels.remove(room);
                    self.complete(request, Err(error));
                    return;
                }
                let retryable =
                    matches!(&error, Error::Timeout) || RETRY_JOIN.contains(&error.code());
                self.channel_event(room, ChannelEvent::Error(error.clone()));
                if retryable {
                    let channel = self.channels.get_mut(room).expect("checked above");
                    channel.schedule_rejoin(now, self.timing.backoff, &mut self.rng);
                } else {
                    self.channels.remove(room);
                    self.channel_event(
                        room,
                        ChannelEvent::Disconnected {
                            reason: format!("rejoin refused: {error}"),
                        },
                    );
                }
            }
        }
    }

    /// The answer to a heartbeat sent with `epoch`: completes its updates and, when it is about
    /// the channel's current join, acts on it.
    fn on_heartbeat_answer(
        &mut self,
        now: Instant,
        sent_at: Instant,
        room: &str,
        epoch: u64,
        requests: Vec<RequestId>,
        mut answer: Result<HeartbeatResponse, Error>,
    ) {
        // A heartbeat of an earlier join says nothing about the current one: it neither changes
        // the epoch nor rejoins. So one join is in flight per room: when an update and a
        // heartbeat are both refused, the first refusal rejoins and the second is about the join
        // before it.
        if self
            .channels
            .get(room)
            .is_some_and(|c| c.epoch() == Some(epoch))
        {
            self.on_current_heartbeat_answer(now, sent_at, room, &mut answer);
        }
        for request in requests {
            self.complete(request, answer.clone().map(Completion::Updated));
        }
    }

    /// The answer to a heartbeat of the channel's current join. A snapshot it carries moves
    /// into the view.
    fn on_current_heartbeat_answer(
        &mut self,
        now: Instant,
        sent_at: Instant,
        room: &str,
        answer: &mut Result<HeartbeatResponse, Error>,
    ) {
        let Some(channel) = self.channels.get_mut(room) else {
            return;
        };
        match answer {
            Ok(response) => {
                channel.heartbeat_acked(response.epoch);
                if let Some(snapshot) = response.snapshot.take() {
                    let cursor = response.cursor.take();
                    self.replace_view(now, room, &snapshot, response.total, cursor);
                }
                self.channel_event(
                    room,
                    ChannelEvent::HeartbeatAck {
                        changed: response.changed,
                        epoch: response.epoch,
                        rtt_ms: now.ms_since(sent_at),
                    },
                );
            }
            Err(error) => {
                channel.heartbeat_refused();
                let rejoin = JOIN_AGAIN.contains(&error.code());
                self.channel_event(room, ChannelEvent::Error(error.clone()));
                if rejoin {
                    self.send_join(now, room, None);
                }
            }
        }
    }

    fn on_timeout(&mut self, now: Instant, pending: Pending) {
        match pending.kind {
            PendingKind::Custom { request } => self.complete(request, Err(Error::Timeout)),
            PendingKind::Leave { request } => self.complete(request, Ok(Completion::Left)),
            PendingKind::Join { room, request } => {
                self.on_join_answer(now, &room, request, Err(Error::Timeout))
            }
            PendingKind::Members { room, ack } => {
                self.on_page(now, &room, ack, Err(Error::Timeout))
            }
            PendingKind::StorageLoad { room, ack } => {
                self.on_storage_load(now, &room, ack, Err(Error::Timeout))
            }
            PendingKind::Storage { request, .. } => self.complete(request, Err(Error::Timeout)),
            PendingKind::Heartbeat { room, requests, .. } => {
                for request in requests {
                    self.complete(request, Err(Error::Timeout));
                }
                let max = self.config.presence.max_missed_heartbeats.max(1);
                let Some(channel) = self.channels.get_mut(&room) else {
                    return;
                };
                let missed = channel.heartbeat_missed();
                if missed >= max {
                    self.channel_event(
                        &room,
                        ChannelEvent::Error(Error::MissedHeartbeats { missed }),
                    );
                    self.lost(now, &format!("{missed} heartbeats missed"));
                }
            }
        }
    }
}

/// The client's code for an answer it cannot read: retried like a server failure.
const INVALID_RESPONSE: &str = "invalid_response";

/// The codes of a refused rejoin that are retried, with backoff (the others drop the channel).
/// Compared as text: these few spellings are all the WebAssembly holds, not the whole set.
const RETRY_JOIN: [&str; 4] = [
    INVALID_RESPONSE,
    ErrorCode::Internal.as_str(),
    ErrorCode::Unavailable.as_str(),
    ErrorCode::RateLimited.as_str(),
];

/// The codes of a refused heartbeat that mean: join again.
const JOIN_AGAIN: [&str; 2] = [
    ErrorCode::NotJoined.as_str(),
    ErrorCode::StaleEpoch.as_str(),
];

/// An answer of an unexpected shape, as an error.
fn invalid_response() -> Error {
    Error::Server {
        code: INVALID_RESPONSE.into(),
        message: "the server's answer has an unexpected shape".into(),
    }
}

/// A `presence:leave` of `room`.
fn leave_payload(room: &str) -> Value {
    LeavePayload {
        room_id: Some(room.to_string()),
    }
    .into_json()
}
