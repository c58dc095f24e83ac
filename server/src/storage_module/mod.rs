//! The storage module: room storage's requests (`storage:set`, `storage:get`, `storage:delete`)
//! for the connections joined to a room, on the server's [`Storage`](crate::storage::Storage)
//! (which the backend API and modules use too). `docs/protocol.md` ("Room storage") is the
//! contract.

mod handlers;
pub(crate) mod requests;

use async_trait::async_trait;
use rtm_protocol::events;

use crate::module::{BoxError, Module, ModuleContext};

/// The storage module: registered by
/// [`RealtimeServer::with_default_modules`](crate::RealtimeServer::with_default_modules).
pub struct StorageModule;

#[async_trait]
impl Module for StorageModule {
    fn name(&self) -> &str {
        "storage"
    }

    async fn register(&self, ctx: &ModuleContext) -> Result<(), BoxError> {
        ctx.handle(events::STORAGE_SET, (), handlers::set)?;
        ctx.handle(events::STORAGE_GET, (), handlers::get)?;
        ctx.handle(events::STORAGE_DELETE, (), handlers::delete)
    }
}
