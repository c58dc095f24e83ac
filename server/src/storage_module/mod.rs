//! The storage module: room storage's requests (`storage:set`, `storage:get`, `storage:delete`)
//! for the connections joined to a room, on the server's [`Storage`](crate::storage::Storage)
//! (which the backend API and modules use too). `docs/protocol.md` ("Room storage") is the
//! contract.

mod handlers;
pub(crate) mod requests;

use rtm_protocol::events;
use socketioxide::extract::SocketRef;

use crate::module::{Module, ModuleContext};

/// The storage module: registered by
/// [`RealtimeServer::with_default_modules`](crate::RealtimeServer::with_default_modules).
pub struct StorageModule;

impl Module for StorageModule {
    fn name(&self) -> &str {
        "storage"
    }

    fn on_connection(&self, socket: &SocketRef, ctx: &ModuleContext) {
        ctx.on_request(socket, events::STORAGE_SET, (), handlers::set);
        ctx.on_request(socket, events::STORAGE_GET, (), handlers::get);
        ctx.on_request(socket, events::STORAGE_DELETE, (), handlers::delete);
    }
}
