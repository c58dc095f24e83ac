//! One simulated user on the wire: a WebSocket that speaks the Engine.IO/Socket.IO text frames
//! itself (with `rtm-sdk-core`'s codec), without the SDK's views, streams and tasks. A load
//! generator that costs the machine little leaves the CPU to the server it measures.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rtm_json as json;
use rtm_protocol::wire::{JoinResponse, PresenceEvent, PresenceEventType, ack_result};
use rtm_sdk_core::codec::{engineio, socketio};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::stats::Latencies;
use super::{Phase, Shared};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Without patches, idle users still heartbeat this often, well within the server's TTL.
const KEEPALIVE: Duration = Duration::from_secs(10);

/// What one user measured.
#[derive(Default)]
pub(super) struct Measured {
    /// Join ack latency.
    pub join: Latencies,
    /// Heartbeat ack latency.
    pub heartbeat: Latencies,
    /// From another user sending its join to this user receiving the join event.
    pub join_fanout: Latencies,
}

/// A request waiting for its ack.
struct Pending {
    id: u64,
    sent: Instant,
    join: bool,
}

struct User {
    index: usize,
    room: usize,
    room_id: String,
    ws: Ws,
    shared: Arc<Shared>,
    epoch: Option<u64>,
    /// Whether this user's join was counted as done (answered, refused or lost).
    join_done: bool,
    next_id: u64,
    seq: u64,
    pending: VecDeque<Pending>,
    /// The newest `(epoch, rev)` seen per connection: an update at or below it is a duplicate.
    newest: HashMap<String, (u64, u64)>,
    measured: Measured,
}

/// Runs user `index` through the phases: join (after its ramp-up delay), heartbeats while
/// sending, reading until done, then leave.
pub(super) async fn run(
    index: usize,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> Measured {
    let options = &shared.options;
    let clients = shared.clients.max(1) as u64;
    tokio::time::sleep(Duration::from_millis(
        options.ramp_up_ms * index as u64 / clients,
    ))
    .await;
    let mut user = match User::connect(index, shared.clone()).await {
        Ok(user) => user,
        Err(code) => {
            shared.error(code);
            shared.joined();
            return Measured::default();
        }
    };
    if let Err(code) = user.send_join().await {
        shared.error(code);
        user.finish_join();
        return user.measured;
    }
    let patch = !options.idle && !options.no_patch;
    let every = if options.idle {
        KEEPALIVE
    } else {
        Duration::from_secs_f64(1.0 / options.heartbeats_per_sec.max(0.001))
    };
    // Made when sending starts, so that no tick is owed for the time spent joining.
    let mut ticker: Option<tokio::time::Interval> = None;
    let mut sweep = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            changed = phase.changed() => {
                let now = *phase.borrow();
                if changed.is_err() || now == Phase::Done {
                    break;
                }
                ticker = (now == Phase::Sending).then(|| {
                    // Spread the users' first heartbeats over one interval.
                    let first = tokio::time::Instant::now() + every.mul_f64(index as f64 / clients as f64);
                    let mut ticker = tokio::time::interval_at(first, every);
                    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
                    ticker
                });
            }
            _ = tick(&mut ticker), if user.epoch.is_some() => {
                if let Err(code) = user.send_heartbeat(patch).await {
                    shared.error(code);
                    break;
                }
            }
            _ = sweep.tick() => user.expire_acks(),
            frame = user.ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Err(code) = user.on_frame(text.as_str()).await {
                        shared.error(code);
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    shared.error("disconnected");
                    break;
                }
            },
        }
    }
    user.finish_join();
    let _ = user.send(&socketio::Packet::Disconnect).await;
    let _ = user.ws.close(None).await;
    user.measured
}

/// The next tick, or never without a ticker.
async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl User {
    /// Opens the WebSocket and the Socket.IO session.
    async fn connect(index: usize, shared: Arc<Shared>) -> Result<Self, &'static str> {
        let url = engineio::websocket_url(&shared.options.target_url);
        // tungstenite zeroes its whole read buffer (128 KiB by default) before each read.
        let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
                .await
                .map_err(|_| "connect_refused")?;
        let room = index % shared.options.room_count.max(1);
        let mut user = User {
            index,
            room,
            room_id: format!("bench-{}-{room}", shared.run_id),
            ws,
            shared,
            epoch: None,
            join_done: false,
            next_id: 0,
            seq: 0,
            pending: VecDeque::new(),
            newest: HashMap::new(),
            measured: Measured::default(),
        };
        user.send(&socketio::Packet::Connect(None)).await?;
        // The Engine.IO handshake, then the Socket.IO CONNECT answer.
        loop {
            let frame = match user.ws.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                _ => return Err("connect_refused"),
            };
            match engineio::Packet::decode(frame.as_str()) {
                Ok(engineio::Packet::Message(text)) => match socketio::Packet::decode(&text) {
                    Ok(socketio::Packet::Connect(_)) => return Ok(user),
                    _ => return Err("connect_refused"),
                },
                Ok(engineio::Packet::Open(_)) => {}
                Ok(engineio::Packet::Ping(data)) => {
                    let pong = engineio::Packet::Pong(data).encode();
                    user.ws
                        .send(Message::text(pong))
                        .await
                        .map_err(|_| "connect_refused")?;
                }
                _ => return Err("invalid_response"),
            }
        }
    }

    async fn send(&mut self, packet: &socketio::Packet) -> Result<(), &'static str> {
        let frame = engineio::Packet::Message(packet.encode()).encode();
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|_| "disconnected")
    }

    async fn request(
        &mut self,
        name: &str,
        payload: Value,
        join: bool,
    ) -> Result<(), &'static str> {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.push_back(Pending {
            id,
            sent: Instant::now(),
            join,
        });
        let packet = socketio::Packet::Event {
            name: name.into(),
            args: vec![payload],
            ack: Some(id),
        };
        self.send(&packet).await
    }

    async fn send_join(&mut self) -> Result<(), &'static str> {
        self.shared.join_sent[self.index].store(self.shared.since_origin(), Ordering::Relaxed);
        let payload = json::object([
            ("roomId", self.room_id.clone().into()),
            ("userId", format!("user-{}", self.index).into()),
            ("state", json::object([("seq", 0.into())])),
        ]);
        self.request("presence:join", payload, true).await
    }

    async fn send_heartbeat(&mut self, patch: bool) -> Result<(), &'static str> {
        let Some(epoch) = self.epoch else {
            return Ok(());
        };
        self.seq += 1;
        let mut payload = json::object([
            ("roomId", self.room_id.clone().into()),
            ("epoch", epoch.into()),
        ]);
        if let (true, Value::Object(fields)) = (patch, &mut payload) {
            fields.insert(
                "patchState".into(),
                json::object([("seq", self.seq.into())]),
            );
        }
        self.request("presence:heartbeat", payload, false).await
    }

    /// Tells the run this user's join is settled, once.
    fn finish_join(&mut self) {
        if !self.join_done {
            self.join_done = true;
            self.shared.joined();
        }
    }

    /// Counts acks that took longer than the ack timeout as `timeout` errors, and forgets them.
    fn expire_acks(&mut self) {
        let limit = Duration::from_millis(self.shared.options.ack_timeout_ms);
        while self
            .pending
            .front()
            .is_some_and(|p| p.sent.elapsed() > limit)
        {
            self.pending.pop_front();
            self.shared.error("timeout");
        }
    }

    async fn on_frame(&mut self, frame: &str) -> Result<(), &'static str> {
        // Updates are nearly all the traffic: read them without decoding the whole frame.
        if let Some(event) = frame.strip_prefix(r#"42["presence:event","#)
            && let Some((conn, epoch, rev)) = update_fields(event)
        {
            self.on_update(conn, (epoch, rev));
            return Ok(());
        }
        match engineio::Packet::decode(frame).map_err(|_| "invalid_response")? {
            engineio::Packet::Ping(data) => {
                let pong = engineio::Packet::Pong(data).encode();
                self.ws
                    .send(Message::text(pong))
                    .await
                    .map_err(|_| "disconnected")
            }
            engineio::Packet::Message(text) => {
                match socketio::Packet::decode(&text).map_err(|_| "invalid_response")? {
                    socketio::Packet::Ack { id, args } => {
                        self.on_ack(id, args.into_iter().next().unwrap_or(Value::Null));
                        Ok(())
                    }
                    socketio::Packet::Event { name, args, .. } if name == "presence:event" => {
                        if let Some(event) = args.first().and_then(PresenceEvent::from_json) {
                            self.on_presence(&event);
                        }
                        Ok(())
                    }
                    socketio::Packet::Disconnect => Err("disconnected"),
                    _ => Ok(()),
                }
            }
            engineio::Packet::Close => Err("disconnected"),
            _ => Ok(()),
        }
    }

    fn on_ack(&mut self, id: u64, answer: Value) {
        let Some(at) = self.pending.iter().position(|p| p.id == id) else {
            return; // already counted as a timeout
        };
        let Some(pending) = self.pending.remove(at) else {
            return;
        };
        let latency = pending.sent.elapsed();
        let answer = match ack_result(answer) {
            Ok(answer) => answer,
            Err(refused) => {
                self.shared.error(&refused.code);
                if pending.join {
                    self.finish_join();
                }
                return;
            }
        };
        if pending.join {
            match JoinResponse::from_json(&answer) {
                Some(response) => {
                    self.epoch = Some(response.self_info.epoch);
                    self.measured.join.record(latency);
                    self.shared.room_members[self.room].fetch_add(1, Ordering::SeqCst);
                }
                None => self.shared.error("invalid_response"),
            }
            self.finish_join();
            return;
        }
        self.measured.heartbeat.record(latency);
        let counters = &self.shared.counters;
        counters.acked.fetch_add(1, Ordering::Relaxed);
        if answer.get("changed").and_then(Value::as_bool) == Some(true) {
            let members = self.shared.room_members[self.room].load(Ordering::Relaxed);
            counters.expected.fetch_add(members, Ordering::Relaxed);
        }
    }

    fn on_presence(&mut self, event: &PresenceEvent) {
        match event.kind {
            PresenceEventType::Join => {
                let sender = event
                    .user_id
                    .strip_prefix("user-")
                    .and_then(|i| i.parse().ok());
                if let Some(sent) = sender.and_then(|i: usize| self.shared.join_sent.get(i)) {
                    let sent = sent.load(Ordering::Relaxed);
                    let now = self.shared.since_origin();
                    if sent > 0 && now >= sent {
                        self.measured
                            .join_fanout
                            .record(Duration::from_nanos(now - sent));
                    }
                }
            }
            PresenceEventType::Update => {
                self.on_update(&event.conn_id, (event.epoch, event.rev.unwrap_or(0)))
            }
            PresenceEventType::Leave => {}
        }
    }

    /// Counts an update of connection `conn`, or a duplicate if it is not newer than the last.
    fn on_update(&mut self, conn: &str, order: (u64, u64)) {
        let counters = &self.shared.counters;
        match self.newest.get_mut(conn) {
            Some(newest) if *newest >= order => {
                counters.duplicate.fetch_add(1, Ordering::Relaxed);
            }
            Some(newest) => {
                *newest = order;
                counters.received.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.newest.insert(conn.to_string(), order);
                counters.received.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// An update event's `(connId, epoch, rev)`, read from its JSON text by field name; `None` for
/// other events. Sound here because the bench's states hold only `seq`: no state can contain
/// these names.
fn update_fields(event: &str) -> Option<(&str, u64, u64)> {
    if !event.contains(r#""type":"update""#) {
        return None;
    }
    let after = |name: &str| event.find(name).map(|at| &event[at + name.len()..]);
    let conn = after(r#""connId":""#)?;
    let conn = &conn[..conn.find('"')?];
    let number = |name: &str| -> Option<u64> {
        let digits = after(name)?;
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        digits[..end].parse().ok()
    };
    Some((conn, number(r#""epoch":"#)?, number(r#""rev":"#)?))
}

#[cfg(test)]
mod tests {
    use super::update_fields;

    #[test]
    fn reads_an_updates_fields_from_its_text() {
        let event = r#"{"connId":"abc","epoch":7,"rev":12,"roomId":"r","state":{"seq":3},"ts":1,"type":"update","userId":"u"}]"#;
        assert_eq!(update_fields(event), Some(("abc", 7, 12)));
        let join = event.replace(r#""type":"update""#, r#""type":"join""#);
        assert_eq!(update_fields(&join), None);
        assert_eq!(update_fields(r#"{"type":"update","connId":"x"}"#), None);
    }
}
