//! [`RealtimeClient`]: the handle apps hold.

use rtm_sdk_core::{
    Client, Completion, ConnectionState, Error, HeartbeatResponse, JoinResponse, ServerEvent,
    State, StateChange, StorageEntry,
};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_stream::wrappers::{BroadcastStream, WatchStream};
use tokio_stream::{Stream, StreamExt};

use crate::channel::PresenceChannel;
use crate::driver::{Command, Driver, EVENT_BUFFER};
use crate::options::{ClientOptions, JoinOptions};

/// A connection to an rtm server, shared by every clone of this handle.
///
/// One background task per client drives the protocol; handles are `Clone + Send + Sync`.
/// Dropping the last handle (clients and channels), or calling [`RealtimeClient::disconnect`],
/// ends the task and closes the socket.
///
/// ```no_run
/// use rtm_sdk::{ClientOptions, JoinOptions, RealtimeClient};
/// use futures_util::StreamExt;
/// use serde_json::json;
///
/// # async fn run() -> Result<(), rtm_sdk::Error> {
/// let client = RealtimeClient::connect(ClientOptions::new("http://localhost:3000")).await?;
/// let (channel, joined) = client
///     .join_room(JoinOptions::new("lobby", "alice").state(json!({"status": "online"})))
///     .await?;
/// println!("{} here", joined.snapshot.len());
/// let mut events = channel.events();
/// channel.update_state(json!({"status": "away"})).await?;
/// while let Some(event) = events.next().await {
///     println!("{event:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RealtimeClient {
    commands: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<StateChange>,
    server_events: broadcast::Sender<ServerEvent>,
}

impl std::fmt::Debug for RealtimeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeClient")
            .field("state", &self.state())
            .finish()
    }
}

impl RealtimeClient {
    /// Connects (calling the auth provider first); fails when the server refuses the connection
    /// or cannot be reached. Once connected, lost connections are retried with backoff.
    pub async fn connect(options: ClientOptions) -> Result<Self, Error> {
        let (commands, rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(StateChange {
            state: ConnectionState::Disconnected,
            reason: "not connected yet".into(),
            attempt: 0,
            retry_in_ms: None,
        });
        let core = Client::new(options.config, seed());
        let server_events = broadcast::channel(EVENT_BUFFER).0;
        let driver = Driver::new(core, options.auth, rx, state_tx, server_events.clone());
        tokio::spawn(driver.run());
        let client = Self {
            commands,
            state,
            server_events,
        };
        client.request(Command::Connect).await?;
        Ok(client)
    }

    /// Joins a room; returns its channel and the server's answer (snapshot and `self`).
    pub async fn join_room(
        &self,
        options: JoinOptions,
    ) -> Result<(PresenceChannel, JoinResponse), Error> {
        let room = options.room_id.clone();
        let (shared_tx, shared_rx) = oneshot::channel();
        let (reply, answer) = oneshot::channel();
        self.send(Command::JoinRoom(options, reply, shared_tx))?;
        // Its events from the start (subscribed by the driver before the join went out), so the
        // join's own events (its snapshot, the storage load) are not missed however late this
        // task runs.
        let (shared, first_events) = shared_rx.await.map_err(|_| Error::Disconnected)?;
        match answer.await.map_err(|_| Error::Disconnected)? {
            Ok(Completion::Joined(response)) => {
                let channel = PresenceChannel::new(room, self.clone(), shared, first_events);
                Ok((channel, response))
            }
            Ok(other) => unreachable!("a join completes with Joined, not {other:?}"),
            Err(err) => Err(err),
        }
    }

    /// The current connection state.
    pub fn state(&self) -> StateChange {
        self.state.borrow().clone()
    }

    /// Every change of connection state, starting with the current one.
    pub fn state_changes(&self) -> impl Stream<Item = StateChange> + Send + 'static {
        WatchStream::new(self.state.clone())
    }

    /// The app's own events the server sends this connection from now on (the backend API's
    /// emits to this user, to everyone or to a room), whichever rooms it is in. A listener more
    /// than 1024 events behind loses the oldest.
    pub fn server_events(&self) -> impl Stream<Item = ServerEvent> + Send + Unpin + 'static {
        BroadcastStream::new(self.server_events.subscribe()).filter_map(|event| event.ok())
    }

    /// Sends an event without waiting for an answer.
    pub async fn emit(&self, event: &str, payload: Value) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Emit(event.to_string(), payload, reply))?;
        answer.await.map_err(|_| Error::Disconnected)?
    }

    /// Sends an event and waits for the server's answer, at most `timeout` (default: the request
    /// timeout). A refusal `{ok:false, error, code}` is an `Error::Server`.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        payload: Value,
        timeout: Option<std::time::Duration>,
    ) -> Result<Value, Error> {
        let command = |reply| Command::EmitWithAck(event.to_string(), payload, timeout, reply);
        match self.request(command).await? {
            Completion::Ack(value) => Ok(value),
            other => unreachable!("an ack completes with Ack, not {other:?}"),
        }
    }

    /// Disconnects: leaves every room (the server sees the socket go), fails what is pending with
    /// `Disconnected`, and ends the background task.
    pub async fn disconnect(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Disconnect(done)).is_ok() {
            let _ = wait.await;
        }
    }

    pub(crate) async fn update_state(
        &self,
        room: &str,
        patch: State,
    ) -> Result<HeartbeatResponse, Error> {
        match self
            .request(|reply| Command::UpdateState(room.to_string(), patch, reply))
            .await?
        {
            Completion::Updated(response) => Ok(response),
            other => unreachable!("an update completes with Updated, not {other:?}"),
        }
    }

    pub(crate) async fn storage_set(
        &self,
        room: &str,
        key: &str,
        value: Value,
        if_version: Option<u64>,
    ) -> Result<u64, Error> {
        let command = |reply| {
            Command::StorageSet(room.to_string(), key.to_string(), value, if_version, reply)
        };
        match self.request(command).await? {
            Completion::StorageWritten { version } => Ok(version),
            other => unreachable!("a storage set completes with StorageWritten, not {other:?}"),
        }
    }

    pub(crate) async fn storage_delete(
        &self,
        room: &str,
        key: &str,
        if_version: Option<u64>,
    ) -> Result<bool, Error> {
        let command =
            |reply| Command::StorageDelete(room.to_string(), key.to_string(), if_version, reply);
        match self.request(command).await? {
            Completion::StorageDeleted { deleted } => Ok(deleted),
            other => unreachable!("a storage delete completes with StorageDeleted, not {other:?}"),
        }
    }

    pub(crate) async fn storage_get(&self, room: &str, key: &str) -> Result<StorageEntry, Error> {
        let command = |reply| Command::StorageGet(room.to_string(), key.to_string(), reply);
        match self.request(command).await? {
            Completion::StorageRead(entry) => Ok(entry),
            other => unreachable!("a storage get completes with StorageRead, not {other:?}"),
        }
    }

    pub(crate) async fn leave(&self, room: &str) {
        let _ = self
            .request(|reply| Command::Leave(room.to_string(), reply))
            .await;
    }

    fn send(&self, command: Command) -> Result<(), Error> {
        self.commands.send(command).map_err(|_| Error::Disconnected)
    }

    /// Sends the command `command` makes around a reply channel, and waits for its completion
    /// (any request: connect, update, leave, ack).
    async fn request(
        &self,
        command: impl FnOnce(crate::driver::Reply) -> Command,
    ) -> Result<Completion, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(command(reply))?;
        answer.await.map_err(|_| Error::Disconnected)?
    }
}

/// A jitter seed that differs between clients, calls and runs.
pub(crate) fn seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}
