//! The background task of one client: it owns the sans-IO core and the WebSocket, and turns the
//! core's outputs into socket writes, timers, and answers to the handles.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use rtm_sdk_core::{
    ChannelEvent, Client, ClientEvent, Completion, Error, PresenceView, RequestId, ServerEvent,
    StateChange, StorageView, Transmit,
};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::options::{AuthProvider, JoinOptions};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub(crate) type Reply = oneshot::Sender<Result<Completion, Error>>;

/// How many channel (or server) events a slow listener may fall behind before it loses the oldest.
pub(crate) const EVENT_BUFFER: usize = 1024;

/// A call from a handle.
pub(crate) enum Command {
    Connect(Reply),
    /// A join: the channel's shared state goes back at once, with a receiver of its events
    /// subscribed before the join is sent (so none of the join's own events can be missed).
    JoinRoom(
        JoinOptions,
        Reply,
        oneshot::Sender<(ChannelShared, broadcast::Receiver<ChannelEvent>)>,
    ),
    UpdateState(String, rtm_sdk_core::State, Reply),
    Emit(String, Value, oneshot::Sender<Result<(), Error>>),
    EmitWithAck(String, Value, Option<Duration>, Reply),
    /// Room, key, value, `ifVersion`.
    StorageSet(String, String, Value, Option<u64>, Reply),
    /// Room, key, `ifVersion`.
    StorageDelete(String, String, Option<u64>, Reply),
    /// Room, key.
    StorageGet(String, String, Reply),
    Leave(String, Reply),
    Disconnect(oneshot::Sender<()>),
}

/// What a channel handle shares with the task.
#[derive(Clone)]
pub(crate) struct ChannelShared {
    pub(crate) events: broadcast::Sender<ChannelEvent>,
    pub(crate) view: Arc<RwLock<PresenceView>>,
    /// The room's storage, as the core last said.
    pub(crate) storage: Arc<RwLock<StorageView>>,
    /// The room's count and whether the view is complete, as the core last said.
    pub(crate) status: watch::Sender<RoomStatus>,
}

/// What a channel handle reads of its room besides the view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RoomStatus {
    /// [`rtm_sdk_core::Client::count`].
    pub(crate) count: Option<u64>,
    /// [`rtm_sdk_core::Client::is_complete`].
    pub(crate) complete: bool,
    /// Whether the room's storage view was ever loaded ([`StorageView::is_loaded`]).
    pub(crate) storage_loaded: bool,
}

/// What the transport opener reports.
enum Opened {
    Ok(u64, Box<Ws>, Option<Value>),
    Failed(u64, String),
}

pub(crate) struct Driver {
    core: Client,
    /// The origin of the core's clock.
    start: Instant,
    auth: Option<AuthProvider>,
    commands: mpsc::UnboundedReceiver<Command>,
    state: watch::Sender<StateChange>,
    server_events: broadcast::Sender<ServerEvent>,
    replies: HashMap<RequestId, Reply>,
    /// First joins in flight: their channel goes if they fail.
    joins: HashMap<RequestId, String>,
    channels: HashMap<String, ChannelShared>,
    opened_tx: mpsc::UnboundedSender<Opened>,
    opened_rx: mpsc::UnboundedReceiver<Opened>,
    sink: Option<(u64, SplitSink<Ws, Message>)>,
    stream: Option<(u64, SplitStream<Ws>)>,
}

impl Driver {
    pub(crate) fn new(
        core: Client,
        auth: Option<AuthProvider>,
        commands: mpsc::UnboundedReceiver<Command>,
        state: watch::Sender<StateChange>,
        server_events: broadcast::Sender<ServerEvent>,
    ) -> Self {
        let (opened_tx, opened_rx) = mpsc::unbounded_channel();
        Self {
            core,
            start: Instant::now(),
            auth,
            commands,
            state,
            server_events,
            replies: HashMap::new(),
            joins: HashMap::new(),
            channels: HashMap::new(),
            opened_tx,
            opened_rx,
            sink: None,
            stream: None,
        }
    }

    /// The core's clock: ms since the driver started, on tokio's monotonic clock.
    fn now(&self) -> rtm_sdk_core::Instant {
        rtm_sdk_core::Instant::from_millis(self.start.elapsed().as_millis() as u64)
    }

    /// Runs until `disconnect()` or until every handle is dropped.
    pub(crate) async fn run(mut self) {
        loop {
            self.flush().await;
            let deadline = self
                .core
                .poll_timeout()
                .map(|at| self.start + Duration::from_millis(at.as_millis()));
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Disconnect(done)) => {
                        self.shut_down().await;
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => self.command(command),
                    None => {
                        self.shut_down().await;
                        return;
                    }
                },
                frame = next_frame(&mut self.stream) => self.frame(frame),
                Some(opened) = self.opened_rx.recv() => self.opened(opened),
                () = sleep_until(deadline) => {
                    let now = self.now();
                    self.core.handle_timeout(now);
                }
            }
        }
    }

    async fn shut_down(&mut self) {
        let now = self.now();
        self.core.disconnect(now);
        self.flush().await;
    }

    fn command(&mut self, command: Command) {
        let now = self.now();
        let (id, reply) = match command {
            Command::Connect(reply) => (self.core.connect(now), reply),
            Command::JoinRoom(options, reply, shared_tx) => {
                let shared = ChannelShared {
                    events: broadcast::channel(EVENT_BUFFER).0,
                    view: Arc::default(),
                    storage: Arc::default(),
                    status: watch::Sender::default(),
                };
                self.channels
                    .insert(options.room_id.clone(), shared.clone());
                let first_events = shared.events.subscribe();
                let _ = shared_tx.send((shared, first_events));
                let (room, user) = (&options.room_id, &options.user_id);
                let level = options.presence;
                let id = self.core.join_room(now, room, user, options.state, level);
                self.joins.insert(id, options.room_id);
                (id, reply)
            }
            Command::UpdateState(room, patch, reply) => {
                (self.core.update_state(now, &room, patch), reply)
            }
            Command::Emit(event, payload, reply) => {
                let _ = reply.send(self.core.emit(&event, payload));
                return;
            }
            Command::EmitWithAck(event, payload, timeout, reply) => (
                self.core.emit_with_ack(now, &event, payload, timeout),
                reply,
            ),
            Command::StorageSet(room, key, value, if_version, reply) => (
                self.core.storage_set(now, &room, &key, value, if_version),
                reply,
            ),
            Command::StorageDelete(room, key, if_version, reply) => (
                self.core.storage_delete(now, &room, &key, if_version),
                reply,
            ),
            Command::StorageGet(room, key, reply) => {
                (self.core.storage_get(now, &room, &key), reply)
            }
            Command::Leave(room, reply) => {
                self.channels.remove(&room);
                (self.core.leave(now, &room), reply)
            }
            Command::Disconnect(_) => unreachable!("handled by run"),
        };
        self.replies.insert(id, reply);
    }

    fn frame(&mut self, frame: Option<Result<Message, String>>) {
        let now = self.now();
        let Some((id, _)) = &self.stream else { return };
        let id = *id;
        match frame {
            Some(Ok(Message::Text(text))) => self.core.transport_frame(now, id, text.as_str()),
            Some(Ok(Message::Close(_))) | None => {
                self.stream = None;
                self.core
                    .transport_closed(now, id, "the server closed the connection");
            }
            Some(Ok(_)) => {} // binary, ping, pong: tungstenite answers pings itself
            Some(Err(err)) => {
                self.stream = None;
                self.core.transport_closed(now, id, &err);
            }
        }
    }

    fn opened(&mut self, opened: Opened) {
        let now = self.now();
        match opened {
            Opened::Ok(id, ws, auth) => {
                let (sink, stream) = (*ws).split();
                self.sink = Some((id, sink));
                self.stream = Some((id, stream));
                self.core.transport_opened(now, id, auth);
            }
            Opened::Failed(id, reason) => self.core.transport_closed(now, id, &reason),
        }
    }

    /// Carries out everything the core asked for, until it asks for nothing.
    async fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.core.poll_transmit() {
                progressed = true;
                self.transmit(transmit).await;
            }
            while let Some(event) = self.core.poll_event() {
                progressed = true;
                self.deliver(event);
            }
            if !progressed {
                return;
            }
        }
    }

    async fn transmit(&mut self, transmit: Transmit) {
        match transmit {
            Transmit::Open { id, url } => {
                let auth = self.auth.clone();
                let report = self.opened_tx.clone();
                tokio::spawn(async move {
                    let auth = match auth {
                        Some(provider) => match provider().await {
                            Ok(value) => Some(value),
                            Err(err) => {
                                let _ = report.send(Opened::Failed(
                                    id,
                                    format!("auth provider failed: {err}"),
                                ));
                                return;
                            }
                        },
                        None => None,
                    };
                    // Small frames must go out at once: Nagle's algorithm would hold them for an ACK.
                    let connecting = tokio_tungstenite::connect_async_with_config(
                        url.as_str(),
                        Some(ws_config()),
                        true,
                    );
                    let opened = match connecting.await {
                        Ok((ws, _)) => Opened::Ok(id, Box::new(ws), auth),
                        Err(err) => Opened::Failed(id, err.to_string()),
                    };
                    let _ = report.send(opened);
                });
            }
            Transmit::Send { id, frame } => {
                let result = match &mut self.sink {
                    Some((current, sink)) if *current == id => {
                        sink.send(Message::text(frame)).await
                    }
                    _ => return,
                };
                if let Err(err) = result {
                    let now = self.now();
                    self.core.transport_closed(now, id, &err.to_string());
                }
            }
            Transmit::Close { id } => {
                if let Some((current, mut sink)) = self.sink.take() {
                    if current == id {
                        let _ = sink.close().await;
                    } else {
                        self.sink = Some((current, sink));
                    }
                }
                if self
                    .stream
                    .as_ref()
                    .is_some_and(|(current, _)| *current == id)
                {
                    self.stream = None;
                }
            }
        }
    }

    fn deliver(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::State(change) => {
                tracing::debug!(
                    state = change.state.as_str(),
                    reason = %change.reason,
                    attempt = change.attempt,
                    retry_in_ms = ?change.retry_in_ms,
                    "rtm connection state"
                );
                let _ = self.state.send(change);
            }
            ClientEvent::Completed { id, result } => {
                if let Some(room) = self.joins.remove(&id)
                    && result.is_err()
                {
                    self.channels.remove(&room);
                }
                if let Some(reply) = self.replies.remove(&id) {
                    let _ = reply.send(result);
                }
            }
            ClientEvent::Server(event) => {
                // Nobody listening is fine: the app did not ask for them.
                let _ = self.server_events.send(event);
            }
            ClientEvent::Channel { room, event } => {
                let Some(shared) = self.channels.get(&room) else {
                    return;
                };
                // Only these change the view; acks, errors and app events leave it as it is.
                let changes_view = matches!(
                    event,
                    ChannelEvent::Presence(_)
                        | ChannelEvent::Snapshot(_)
                        | ChannelEvent::Page { .. }
                        | ChannelEvent::Reconnected { .. }
                );
                if changes_view && let Some(view) = self.core.view(&room) {
                    shared.view.write().expect("view lock").clone_from(view);
                }
                let changes_storage = matches!(
                    event,
                    ChannelEvent::StorageLoaded | ChannelEvent::StorageChanged(_)
                );
                let storage = self.core.storage(&room);
                if changes_storage && let Some(storage) = storage {
                    shared
                        .storage
                        .write()
                        .expect("storage lock")
                        .clone_from(storage);
                }
                // Before the event goes out: its listeners read the status it brought.
                let status = RoomStatus {
                    count: self.core.count(&room),
                    complete: self.core.is_complete(&room),
                    storage_loaded: storage.is_some_and(StorageView::is_loaded),
                };
                shared.status.send_if_modified(|old| {
                    let changed = *old != status;
                    *old = status;
                    changed
                });
                let _ = shared.events.send(event);
            }
        }
    }
}

async fn next_frame(
    stream: &mut Option<(u64, SplitStream<Ws>)>,
) -> Option<Result<Message, String>> {
    match stream {
        Some((_, s)) => s.next().await.map(|r| r.map_err(|e| e.to_string())),
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// tungstenite's defaults read into a 128 KiB buffer that it zeroes before every read: a
/// presence client's frames are small, so 8 KiB reads cost far less (larger frames still
/// arrive, over several reads).
fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}
