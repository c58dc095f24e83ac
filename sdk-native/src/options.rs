//! What a client is created with.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rtm_sdk_core::{ClientConfig, PresenceLevel, State};
use serde_json::Value;

/// The result of an auth provider: the Socket.IO handshake `auth` payload, or why there is none.
pub type AuthFuture = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// Called before every connection attempt (the first and each reconnect), so a refreshed token
/// is used each time.
pub type AuthProvider = Arc<dyn Fn() -> AuthFuture + Send + Sync>;

/// How to connect.
#[derive(Clone)]
pub struct ClientOptions {
    /// Protocol settings: URL, reconnection, heartbeats, timeouts.
    pub config: ClientConfig,
    /// Gives the handshake auth payload (for example `{"token": "<jwt>"}`).
    pub auth: Option<AuthProvider>,
}

impl ClientOptions {
    /// Defaults for the server at `base_url` (`http://host:port`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            config: ClientConfig {
                base_url: base_url.into(),
                ..ClientConfig::default()
            },
            auth: None,
        }
    }

    /// Sets the auth provider.
    pub fn auth<F, Fut>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        self.auth = Some(Arc::new(move || Box::pin(provider())));
        self
    }

    /// Adjusts the protocol settings.
    pub fn configure(mut self, f: impl FnOnce(&mut ClientConfig)) -> Self {
        f(&mut self.config);
        self
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("config", &self.config)
            .field("auth", &self.auth.as_ref().map(|_| "<provider>"))
            .finish()
    }
}

/// What to join.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinOptions {
    /// The room.
    pub room_id: String,
    /// The user to join as.
    pub user_id: String,
    /// The initial state.
    pub state: State,
    /// What the channel receives of the room's presence: every join, update and leave
    /// ([`PresenceLevel::Events`], the default), or only the room's count
    /// ([`PresenceLevel::Count`]: [`PresenceChannel::count`](crate::PresenceChannel::count),
    /// [`ChannelEvent::Count`](crate::ChannelEvent::Count)), for audiences of thousands.
    pub presence: PresenceLevel,
}

impl JoinOptions {
    /// Joins `room_id` as `user_id` with an empty state.
    pub fn new(room_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            room_id: room_id.into(),
            user_id: user_id.into(),
            state: State::new(),
            presence: PresenceLevel::Events,
        }
    }

    /// Sets what the channel receives of the room's presence (see [`JoinOptions::presence`]).
    pub fn presence(mut self, level: PresenceLevel) -> Self {
        self.presence = level;
        self
    }

    /// Sets the initial state (a JSON object; anything else is an empty state).
    pub fn state(mut self, state: Value) -> Self {
        self.state = match state {
            Value::Object(map) => map,
            _ => State::new(),
        };
        self
    }
}
