//! Heartbeats bound for Redis, gathered: those that arrive within one short tick go out as one
//! script call (one per bucket in a cluster, where a call's keys must share a slot). Redis then
//! reads, sets up and answers one call where it did many, and the node writes and reads one
//! command: those per-call costs are paid once per tick, not once per heartbeat. Under light
//! load a tick holds one heartbeat and costs only its wait; the heavier the load, the more each
//! call carries (docs/performance.md, "Issue 23: what the work changed").

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use redis::Script;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

use super::redis_meta::RawPage;
use super::store::StoreError;
use crate::metrics::Metrics;
use crate::redis::{RedisConnection, StoreConn, keys};

/// The most heartbeats one script call carries.
const MAX_PER_CALL: usize = 64;

/// One heartbeat's answer as the script gives it: status, changed, epoch and, when the client's
/// digest was stale, the room's first page.
pub(super) type RawBeat = (u8, u8, u64, Option<RawPage>);

/// One heartbeat, as the script takes it.
pub(super) struct Beat {
    /// The room.
    pub(super) room: String,
    /// The connection.
    pub(super) conn: String,
    /// The epoch the client holds.
    pub(super) epoch: u64,
    /// The client's digest, if it sent one.
    pub(super) digest: Option<u32>,
    /// How many entries a snapshot page lists.
    pub(super) page: usize,
    /// The patch as (field JSON, value JSON) pairs, flat.
    pub(super) patch: Vec<String>,
}

/// A heartbeat waiting for its call, and where its answer goes.
struct Queued {
    beat: Beat,
    reply: oneshot::Sender<Result<RawBeat, StoreError>>,
}

/// Where a node's heartbeats queue for Redis. Its task ends when the batcher is dropped, once
/// the heartbeats queued by then are answered.
pub(super) struct HeartbeatBatcher {
    queue: mpsc::UnboundedSender<Queued>,
}

/// What a call needs besides its heartbeats.
struct Calls {
    conn: StoreConn,
    script: Arc<Script>,
    publish: &'static str,
    ttl_ms: u64,
    /// In a cluster, one call per bucket (a call's keys must be in one slot).
    by_bucket: bool,
    metrics: Metrics,
}

impl HeartbeatBatcher {
    /// Starts the batcher's task: heartbeats wait at most `tick` for others to join their call.
    /// Each call is counted in `metrics`.
    pub(super) fn spawn(
        redis: &RedisConnection,
        script: Script,
        ttl_ms: u64,
        tick: Duration,
        metrics: Metrics,
    ) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        let calls = Calls {
            conn: redis.conn.clone(),
            script: Arc::new(script),
            publish: redis.publish_command(),
            ttl_ms,
            by_bucket: redis.is_cluster(),
            metrics,
        };
        tokio::spawn(run(rx, calls, tick));
        Self { queue }
    }

    /// Sends `beat` with the others of its tick; its answer.
    pub(super) async fn beat(&self, beat: Beat) -> Result<RawBeat, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued { beat, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Corrupt("the heartbeat batcher stopped".into())
}

/// Gathers heartbeats for up to `tick` after the first of a batch (or until `MAX_PER_CALL`),
/// sends them, and answers each from its call; calls run concurrently, sent in order.
async fn run(mut rx: mpsc::UnboundedReceiver<Queued>, calls: Calls, tick: Duration) {
    let mut gathered = Vec::new();
    let mut due = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut open = true;
    while open || !gathered.is_empty() || !in_flight.is_empty() {
        tokio::select! {
            queued = rx.recv(), if open => match queued {
                Some(queued) => {
                    if gathered.is_empty() {
                        due = Instant::now() + tick;
                    }
                    gathered.push(queued);
                    if gathered.len() >= MAX_PER_CALL {
                        in_flight.extend(calls.send(std::mem::take(&mut gathered)));
                    }
                }
                None => open = false,
            },
            () = sleep_until(due), if !gathered.is_empty() => {
                in_flight.extend(calls.send(std::mem::take(&mut gathered)));
            }
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
        if !open && !gathered.is_empty() {
            in_flight.extend(calls.send(std::mem::take(&mut gathered)));
        }
    }
}

impl Calls {
    /// The calls that carry `batch`: one, or one per bucket in a cluster.
    fn send(&self, batch: Vec<Queued>) -> Vec<impl Future<Output = ()> + use<>> {
        if !self.by_bucket {
            return vec![self.call(batch)];
        }
        let mut groups: HashMap<u32, Vec<Queued>> = HashMap::new();
        for queued in batch {
            groups
                .entry(keys::bucket(&queued.beat.room))
                .or_default()
                .push(queued);
        }
        groups.into_values().map(|group| self.call(group)).collect()
    }

    /// One script call for `batch`, answering each heartbeat in it.
    fn call(&self, batch: Vec<Queued>) -> impl Future<Output = ()> + use<> {
        self.metrics.heartbeat_call(batch.len());
        let (mut conn, script) = (self.conn.clone(), self.script.clone());
        let (publish, ttl_ms) = (self.publish, self.ttl_ms);
        async move {
            let mut invocation = script.prepare_invoke();
            invocation.arg("").arg(publish).arg("").arg(ttl_ms);
            for Queued { beat, .. } in &batch {
                for key in keys::presence(&beat.room) {
                    invocation.key(key);
                }
                invocation
                    .arg(&beat.room)
                    .arg(keys::room_channel(&beat.room))
                    .arg(&beat.conn)
                    .arg(beat.epoch)
                    .arg(beat.digest.map(|d| d.to_string()).unwrap_or_default())
                    .arg(beat.page)
                    .arg(beat.patch.len())
                    .arg(&beat.patch);
            }
            let answers: Result<Vec<RawBeat>, _> = invocation.invoke_async(&mut conn).await;
            match answers {
                Ok(answers) if answers.len() == batch.len() => {
                    for (queued, answer) in batch.into_iter().zip(answers) {
                        let _ = queued.reply.send(Ok(answer));
                    }
                }
                Ok(answers) => {
                    let error = format!("{} answers to {} heartbeats", answers.len(), batch.len());
                    for queued in batch {
                        let _ = queued.reply.send(Err(StoreError::Corrupt(error.clone())));
                    }
                }
                Err(error) => {
                    for queued in batch {
                        let copy = redis::RedisError::from((
                            error.kind(),
                            "heartbeat call failed",
                            error.to_string(),
                        ));
                        let _ = queued.reply.send(Err(StoreError::Redis(copy)));
                    }
                }
            }
        }
    }
}
