//! A presence store whose every call is timed and its outcome recorded in [`StoreHealth`]: how
//! the reaper learns of outages and stalls that only requests saw.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use tokio::time::Instant;

use super::health::StoreHealth;
use super::store::{
    HeartbeatOutcome, HeartbeatRequest, JoinOutcome, JoinRequest, Page, PresenceEntry,
    PresenceStore, StoreError,
};

/// `inner`, watched.
pub(crate) struct Watched {
    pub(crate) inner: Arc<dyn PresenceStore>,
    pub(crate) health: Arc<StoreHealth>,
}

impl Watched {
    async fn watch<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        self.health.record(started, result.is_ok());
        result
    }
}

#[async_trait]
impl PresenceStore for Watched {
    async fn join(&self, room: &str, request: JoinRequest<'_>) -> Result<JoinOutcome, StoreError> {
        self.watch(self.inner.join(room, request)).await
    }

    async fn heartbeat(
        &self,
        room: &str,
        request: HeartbeatRequest<'_>,
    ) -> Result<HeartbeatOutcome, StoreError> {
        self.watch(self.inner.heartbeat(room, request)).await
    }

    async fn leave(&self, room: &str, conn: &str, epoch: Option<u64>) -> Result<bool, StoreError> {
        self.watch(self.inner.leave(room, conn, epoch)).await
    }

    async fn linger(
        &self,
        room: &str,
        conn: &str,
        epoch: u64,
        grace: Duration,
    ) -> Result<bool, StoreError> {
        self.watch(self.inner.linger(room, conn, epoch, grace))
            .await
    }

    async fn snapshot(&self, room: &str) -> Result<Vec<PresenceEntry>, StoreError> {
        self.watch(self.inner.snapshot(room)).await
    }

    async fn page(
        &self,
        room: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        self.watch(self.inner.page(room, after, limit)).await
    }

    async fn count(&self, room: &str) -> Result<u64, StoreError> {
        self.watch(self.inner.count(room)).await
    }

    async fn due(&self, max: usize) -> Result<Vec<(String, String)>, StoreError> {
        self.watch(self.inner.due(max)).await
    }

    async fn expire(&self, room: &str, conn: &str) -> Result<bool, StoreError> {
        self.watch(self.inner.expire(room, conn)).await
    }
}
