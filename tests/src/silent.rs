//! A module whose one event is never answered. The server answers every event it has no module
//! for (`unknown_event`), so tests of client-side timeouts, and of requests still pending when a
//! connection closes, send this one.

use async_trait::async_trait;
use rtm_server::{Module, ModuleContext};
use socketioxide::extract::SocketRef;

/// The event [`Silent`] takes and never answers.
pub const SILENT_EVENT: &str = "test:silent";

/// A module that takes [`SILENT_EVENT`] and never answers it.
pub struct Silent;

#[async_trait]
impl Module for Silent {
    fn name(&self) -> &str {
        "silent"
    }

    fn on_connection(&self, socket: &SocketRef, _ctx: &ModuleContext) {
        socket.on(SILENT_EVENT, || async {});
    }
}
