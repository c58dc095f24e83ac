//! The chat module: the worked example of a custom module, written only against the public API
//! (`Module`, `ModuleContext`, the bus, and `presence::joined` for membership).
//!
//! `chat:send {roomId, message}` → `{ok, msgId, ts}` and `chat:message` to the room;
//! `chat:history {roomId, limit?}` → `{ok, messages}` oldest first. Only a socket that has joined
//! the room with presence may use its chat.

mod handlers;
mod requests;
mod rest;
mod store;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use rtm_protocol::events;

use crate::module::{BoxError, Module, ModuleContext};
use store::{ChatStore, MemoryChatStore, RedisChatStore};

/// The chat module.
pub struct ChatModule {
    max_history: usize,
    retention: Duration,
    store: OnceLock<Arc<dyn ChatStore>>,
}

impl ChatModule {
    /// A chat module keeping the last `max_history` messages per room, for 7 days after a room's
    /// last message.
    pub fn new(max_history: usize) -> Self {
        Self {
            max_history: max_history.max(1),
            retention: Duration::from_secs(7 * 24 * 3600),
            store: OnceLock::new(),
        }
    }

    /// Forgets a room's history once it has had no message for `retention`.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(Duration::from_millis(1));
        self
    }

    fn store(&self) -> Arc<dyn ChatStore> {
        self.store
            .get()
            .expect("chat is registered before use")
            .clone()
    }
}

impl Default for ChatModule {
    /// Keeps the last 100 messages per room.
    fn default() -> Self {
        Self::new(100)
    }
}

#[async_trait]
impl Module for ChatModule {
    fn name(&self) -> &str {
        "chat"
    }

    async fn register(&self, ctx: &ModuleContext) -> Result<(), BoxError> {
        let store: Arc<dyn ChatStore> = match ctx.redis() {
            Some(redis) => Arc::new(RedisChatStore::new(redis, self.max_history, self.retention)),
            None => Arc::new(MemoryChatStore::new(
                ctx.bus().clone(),
                self.max_history,
                self.retention,
            )),
        };
        ctx.handle(events::CHAT_SEND, store.clone(), handlers::send)?;
        ctx.handle(events::CHAT_HISTORY, store.clone(), handlers::history)?;
        self.store
            .set(store)
            .map_err(|_| "the chat module was registered twice")?;
        Ok(())
    }

    fn routes(&self, _ctx: &ModuleContext) -> Option<axum::Router> {
        Some(rest::routes(self.store(), self.max_history))
    }
}
