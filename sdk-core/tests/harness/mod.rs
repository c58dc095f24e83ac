//! A simulated server and clock around the sans-IO client: every test is deterministic.

#![allow(dead_code)]

use std::time::Duration;

use rtm_sdk_core::codec::socketio::Packet;
use rtm_sdk_core::{
    Client, ClientConfig, ClientEvent, Completion, Error, Instant, PresenceLevel, RequestId,
    Transmit,
};
use serde_json::{Value, json};

pub struct Harness {
    pub client: Client,
    pub now: Instant,
    pub transport: u64,
    pub opened: Vec<u64>,
    pub closed: Vec<u64>,
    /// Socket.IO packets the client sent, oldest first, not yet looked at (storage loads aside).
    pub sent: Vec<Packet>,
    /// The storage loads (`storage:get {roomId}`) the client sent, as (room, ack id), oldest
    /// first: presence tests need not see them (they are never answered there).
    pub loads: Vec<(String, u64)>,
    /// Engine.IO frames other than messages (pongs).
    pub raw: Vec<String>,
    pub events: Vec<ClientEvent>,
}

pub const HANDSHAKE: &str =
    r#"0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100000}"#;

impl Harness {
    pub fn new(config: ClientConfig) -> Self {
        Self {
            client: Client::new(config, 42),
            now: Instant::from_millis(1_000),
            transport: 0,
            opened: Vec::new(),
            closed: Vec::new(),
            sent: Vec::new(),
            loads: Vec::new(),
            raw: Vec::new(),
            events: Vec::new(),
        }
    }

    pub fn config() -> ClientConfig {
        ClientConfig {
            base_url: "http://server".into(),
            ..Default::default()
        }
    }

    /// Drains the client's outputs into the harness.
    pub fn pump(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            match t {
                Transmit::Open { id, url } => {
                    assert_eq!(url, "ws://server/socket.io/?EIO=4&transport=websocket");
                    self.transport = id;
                    self.opened.push(id);
                }
                Transmit::Send { id, frame } => {
                    assert_eq!(id, self.transport, "frames go to the current transport");
                    if let Some(msg) = frame.strip_prefix('4') {
                        let packet = Packet::decode(msg).expect("the client sends valid packets");
                        match storage_load(&packet) {
                            Some(load) => self.loads.push(load),
                            None => self.sent.push(packet),
                        }
                    } else {
                        self.raw.push(frame);
                    }
                }
                Transmit::Close { id } => self.closed.push(id),
            }
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
    }

    /// Advances the clock to `at` the way an adapter does: wake at each deadline on the way.
    pub fn advance_to(&mut self, at: Instant) {
        loop {
            self.pump();
            match self.client.poll_timeout() {
                Some(deadline) if deadline <= at => {
                    self.now = self.now.max(deadline);
                    self.client.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = at;
        self.pump();
    }

    pub fn advance(&mut self, ms: u64) {
        self.advance_to(self.now + Duration::from_millis(ms));
    }

    /// Like a throttled tab: nothing runs until `ms` later, then one `handle_timeout`.
    pub fn sleep_then_handle_timeout(&mut self, ms: u64) {
        self.now = self.now + Duration::from_millis(ms);
        self.client.handle_timeout(self.now);
        self.pump();
    }

    pub fn frame(&mut self, frame: &str) {
        self.client.transport_frame(self.now, self.transport, frame);
        self.pump();
    }

    pub fn packet(&mut self, packet: Packet) {
        self.frame(&format!("4{}", packet.encode()));
    }

    /// Opens the transport and completes the handshake; returns the CONNECT packet the client sent.
    pub fn accept_transport(&mut self, auth: Option<Value>) -> Packet {
        self.pump();
        self.client.transport_opened(self.now, self.transport, auth);
        self.frame(HANDSHAKE);
        let connect = self.take_sent().pop().expect("CONNECT sent");
        self.packet(Packet::Connect(Some(json!({"sid": "sio1"}))));
        connect
    }

    /// A connected client.
    pub fn connected(config: ClientConfig) -> Self {
        let mut h = Self::new(config);
        let id = h.client.connect(h.now);
        h.accept_transport(None);
        assert_eq!(h.completion(id), Ok(Completion::Connected));
        h.events.clear();
        h
    }

    pub fn take_sent(&mut self) -> Vec<Packet> {
        self.pump();
        std::mem::take(&mut self.sent)
    }

    /// The single event packet sent since last looked, as (name, payload, ack id).
    pub fn sent_event(&mut self) -> (String, Value, u64) {
        let sent = self.take_sent();
        assert_eq!(sent.len(), 1, "expected one packet, got {sent:?}");
        match sent.into_iter().next().unwrap() {
            Packet::Event {
                name,
                mut args,
                ack,
            } => (name, args.remove(0), ack.expect("with ack")),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    pub fn ack(&mut self, id: u64, value: Value) {
        self.packet(Packet::Ack {
            id,
            args: vec![value],
        });
    }

    pub fn server_event(&mut self, name: &str, payload: Value) {
        self.packet(Packet::Event {
            name: name.into(),
            args: vec![payload],
            ack: None,
        });
    }

    /// The completion of `id`, which must have happened exactly once.
    pub fn completion(&mut self, id: RequestId) -> Result<Completion, Error> {
        self.pump();
        let found: Vec<_> = self
            .events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Completed { id: i, result } if *i == id => Some(result.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "request {id:?} completed {} times: {:?}",
            found.len(),
            self.events
        );
        found.into_iter().next().unwrap()
    }

    pub fn is_pending(&mut self, id: RequestId) -> bool {
        self.pump();
        !self
            .events
            .iter()
            .any(|e| matches!(e, ClientEvent::Completed { id: i, .. } if *i == id))
    }

    /// Joins `room` as `user` with `state`, answering with `snapshot` (the joiner added) and
    /// `epoch`, and its storage load with an empty room; returns the join request's completion.
    pub fn join(
        &mut self,
        room: &str,
        user: &str,
        state: Value,
        epoch: u64,
        others: Vec<Value>,
    ) -> Completion {
        let id = self.client.join_room(
            self.now,
            room,
            user,
            state.as_object().unwrap().clone(),
            PresenceLevel::Events,
        );
        let (name, payload, ack) = self.sent_event();
        assert_eq!(name, "presence:join");
        assert_eq!(
            payload,
            json!({"roomId": room, "userId": user, "state": state, "batch": true})
        );
        self.ack(ack, join_ack(room, user, &state, epoch, others));
        let joined = self.completion(id).expect("joined");
        let load = self.take_load(room);
        self.ack(load, json!({"ok": true, "entries": {}, "rev": 0}));
        joined
    }

    /// The ack id of the storage load of `room` the client sent, which must be the only one.
    pub fn take_load(&mut self, room: &str) -> u64 {
        self.pump();
        let loads: Vec<u64> = self
            .loads
            .iter()
            .filter(|(r, _)| r == room)
            .map(|(_, ack)| *ack)
            .collect();
        assert_eq!(
            loads.len(),
            1,
            "one storage load of {room}: {:?}",
            self.loads
        );
        self.loads.retain(|(r, _)| r != room);
        loads[0]
    }
}

/// A storage load's room and ack id, when `packet` is one (`storage:get` without a key).
fn storage_load(packet: &Packet) -> Option<(String, u64)> {
    match packet {
        Packet::Event {
            name,
            args,
            ack: Some(ack),
        } if name == "storage:get" && args[0].get("key").is_none() => {
            let room = args[0]["roomId"].as_str().expect("a load names its room");
            assert_eq!(
                args[0],
                json!({"roomId": room}),
                "a load asks for the whole room"
            );
            Some((room.to_string(), *ack))
        }
        _ => None,
    }
}

pub fn entry(conn: &str, user: &str, state: Value, epoch: u64, rev: u64) -> Value {
    json!({"connId": conn, "userId": user, "state": state, "lastSeenMs": 5, "epoch": epoch, "rev": rev})
}

pub fn join_ack(
    _room: &str,
    user: &str,
    state: &Value,
    epoch: u64,
    mut others: Vec<Value>,
) -> Value {
    others.push(entry("me", user, state.clone(), epoch, 0));
    json!({"ok": true, "snapshot": others, "self": {"connId": "me", "epoch": epoch}})
}

pub fn presence(
    kind: &str,
    room: &str,
    conn: &str,
    user: &str,
    state: Value,
    epoch: u64,
    rev: u64,
) -> Value {
    json!({"type": kind, "roomId": room, "userId": user, "connId": conn, "state": state, "ts": 10, "epoch": epoch, "rev": rev})
}

/// `ack` (a join's) as an rtm server answers: its `self` with a `resumeToken` and `resumed`.
pub fn resumable(mut ack: Value, token: &str, resumed: bool) -> Value {
    ack["self"]["resumeToken"] = json!(token);
    ack["self"]["resumed"] = json!(resumed);
    ack
}

/// The `resume` a rejoin sends for the entry `conn` with `token`.
pub fn resume(conn: &str, token: &str) -> Value {
    json!({"connId": conn, "resumeToken": token})
}
