//! One member of a large room on its own WebSocket, in one task: it joins, keeps its view (or,
//! at the `"count"` level, the room's count), heartbeats, patches its state when it is an
//! updater, and leaves when the run says so.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rtm_json as json;
use rtm_protocol::events;
use rtm_protocol::wire::{JoinPayload, MembersPayload, PresenceLevel, State};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

use super::conn::{Conn, Failure};
use super::frames::{self, Answer, Entry, Event, Incoming, Kind};
use super::shared::{Run, Stage, Step};
use super::view::View;

/// How a member goes when the run reaches [`Step::Leaving`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exit {
    /// `presence:leave` with an ack, then a disconnect.
    Leave,
    /// A Socket.IO DISCONNECT at once.
    Disconnect,
}

/// What a member does.
#[derive(Debug, Clone, Copy)]
pub(super) struct Role {
    /// Joins with `presence: "count"` (else `"events"`).
    pub count: bool,
    /// Heartbeats this often (no patch).
    pub heartbeat_every: Duration,
    /// The heartbeater: its acks are measured apart.
    pub heartbeater: bool,
    /// An updater's position among the updaters (its updates go out that many 50 ms later).
    pub updater: Option<u32>,
    /// Goes when the run reaches [`Step::Leaving`].
    pub exit: Option<Exit>,
}

/// What a request in flight was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Join,
    Members,
    Heartbeat,
    Update,
    Leave,
}

/// A request waiting for its ack.
struct Pending {
    id: u64,
    sent: Instant,
    request: Request,
}

/// Whether the member goes on.
enum Flow {
    /// It does.
    Go,
    /// It is done: disconnect deliberately.
    Close,
    /// The connection is gone.
    Gone,
}

/// Runs member `index` from `start` until the run is done or it leaves.
pub(super) async fn run(
    index: usize,
    role: Role,
    run: Arc<Run>,
    mut stage: watch::Receiver<Stage>,
    start: tokio::time::Instant,
) {
    tokio::time::sleep_until(start).await;
    let conn = match Conn::open(&run.target_url).await {
        Ok(conn) => conn,
        Err(code) => {
            run.error(code, role.heartbeater);
            run.settle();
            return;
        }
    };
    let mut member = Member::new(index, role, run, conn);
    let flow = match member.send_join().await {
        Ok(()) => member.serve(&mut stage).await,
        Err(code) => member.fail(code),
    };
    member.settle_join();
    if let Flow::Close = flow {
        member.conn.disconnect().await;
    }
}

struct Member {
    index: usize,
    role: Role,
    run: Arc<Run>,
    conn: Conn,
    conn_id: Option<String>,
    epoch: Option<u64>,
    /// Whether the join was counted as settled.
    join_settled: bool,
    next_id: u64,
    pending: VecDeque<Pending>,
    view: View,
    /// Updates received: `(sender, n)`.
    seen: HashSet<(String, u64)>,
    /// Updates sent so far.
    sent_updates: u64,
}

impl Member {
    fn new(index: usize, role: Role, run: Arc<Run>, conn: Conn) -> Self {
        Member {
            index,
            role,
            run,
            conn,
            conn_id: None,
            epoch: None,
            join_settled: false,
            next_id: 0,
            pending: VecDeque::new(),
            view: View::default(),
            seen: HashSet::new(),
            sent_updates: 0,
        }
    }

    /// The member's loop: stage changes, timers and frames, one at a time.
    async fn serve(&mut self, stage: &mut watch::Receiver<Stage>) -> Flow {
        let period = self.role.heartbeat_every;
        let mut heartbeat = every(period, period);
        let sweep_period = Duration::from_millis(500);
        let mut sweep = every(sweep_period, sweep_period);
        let mut updates: Option<Interval> = None;
        loop {
            let flow = tokio::select! {
                changed = stage.changed() => match changed {
                    Ok(()) => {
                        let now = stage.borrow_and_update().clone();
                        self.on_stage(now, &mut updates).await
                    }
                    Err(_) => Flow::Close,
                },
                _ = heartbeat.tick(), if self.epoch.is_some() => self.send_heartbeat().await,
                _ = tick(&mut updates) => self.send_update(&mut updates).await,
                _ = sweep.tick(), if !self.pending.is_empty() => self.expire_acks(),
                frame = self.conn.next_text() => match frame {
                    Some(frame) => self.on_frame(frame.as_str()).await,
                    None => self.fail("disconnected"),
                },
            };
            if !matches!(flow, Flow::Go) {
                return flow;
            }
        }
    }

    fn fail(&self, code: Failure) -> Flow {
        self.run.error(code, self.role.heartbeater);
        Flow::Gone
    }

    async fn on_stage(&mut self, stage: Stage, updates: &mut Option<Interval>) -> Flow {
        if let Some(truth) = stage.truth {
            self.view.set_truth(truth);
            self.publish_view();
        }
        match stage.step {
            Step::Updating if self.role.updater.is_some() && updates.is_none() => {
                let offset = Duration::from_millis(50) * self.role.updater.unwrap_or(0);
                *updates = Some(every(Duration::from_secs(1), offset));
                Flow::Go
            }
            Step::Leaving => match self.role.exit {
                Some(Exit::Leave) => {
                    let payload = json::object([("roomId", self.run.room_id.clone().into())]);
                    self.request(events::PRESENCE_LEAVE, payload, Request::Leave)
                        .await
                }
                Some(Exit::Disconnect) => Flow::Close,
                None => Flow::Go,
            },
            Step::Done => Flow::Close,
            _ => Flow::Go,
        }
    }

    /// Sends a request and remembers it until its ack.
    async fn request(&mut self, name: &str, payload: Value, request: Request) -> Flow {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.push_back(Pending {
            id,
            sent: Instant::now(),
            request,
        });
        match self.conn.request(name, payload, id).await {
            Ok(()) => Flow::Go,
            Err(code) => self.fail(code),
        }
    }

    async fn send_join(&mut self) -> Result<(), Failure> {
        let payload = JoinPayload {
            room_id: self.run.room_id.clone(),
            user_id: format!("u{}", self.index),
            state: State::new(),
            resume: None,
            presence: if self.role.count {
                PresenceLevel::Count
            } else {
                PresenceLevel::Events
            },
            batch: true,
        };
        match self
            .request(events::PRESENCE_JOIN, payload.into_json(), Request::Join)
            .await
        {
            Flow::Go => Ok(()),
            _ => Err("disconnected"),
        }
    }

    async fn send_heartbeat(&mut self) -> Flow {
        let Some(epoch) = self.epoch else {
            return Flow::Go;
        };
        let payload = json::object([
            ("roomId", self.run.room_id.clone().into()),
            ("epoch", epoch.into()),
        ]);
        self.request(events::PRESENCE_HEARTBEAT, payload, Request::Heartbeat)
            .await
    }

    /// Sends the next update `{n}`, recording when; stops the updates after the last.
    async fn send_update(&mut self, updates: &mut Option<Interval>) -> Flow {
        let (Some(epoch), Some(conn)) = (self.epoch, self.conn_id.clone()) else {
            *updates = None;
            return Flow::Go;
        };
        self.sent_updates += 1;
        let n = self.sent_updates;
        if n >= self.run.updates {
            *updates = None;
        }
        self.run
            .update_sent
            .lock()
            .expect("update times lock")
            .entry(conn)
            .or_insert_with(|| vec![0; self.run.updates as usize + 1])[n as usize] =
            self.run.now_ns();
        let payload = json::object([
            ("roomId", self.run.room_id.clone().into()),
            ("epoch", epoch.into()),
            ("patchState", json::object([("n", n.into())])),
        ]);
        self.request(events::PRESENCE_HEARTBEAT, payload, Request::Update)
            .await
    }

    async fn send_members(&mut self, cursor: String) -> Flow {
        let payload = MembersPayload {
            room_id: self.run.room_id.clone(),
            cursor,
            limit: None,
        };
        self.request(
            events::PRESENCE_MEMBERS,
            payload.into_json(),
            Request::Members,
        )
        .await
    }

    /// Counts the acks older than the ack timeout as timeouts, and forgets them.
    fn expire_acks(&mut self) -> Flow {
        let mut flow = Flow::Go;
        while let Some(pending) = self.pending.front()
            && pending.sent.elapsed() > self.run.ack_timeout
        {
            let request = pending.request;
            self.pending.pop_front();
            self.run.timeout(self.role.heartbeater);
            match request {
                Request::Join => self.settle_join(),
                Request::Update => self.update_settled(),
                Request::Leave => flow = Flow::Close,
                _ => {}
            }
        }
        flow
    }

    async fn on_frame(&mut self, frame: &str) -> Flow {
        let Ok(incoming) = frames::parse(frame) else {
            self.run.error("invalid_response", self.role.heartbeater);
            return Flow::Go;
        };
        match incoming {
            Incoming::Ping(data) => match self.conn.pong(data.to_string()).await {
                Ok(()) => Flow::Go,
                Err(code) => self.fail(code),
            },
            Incoming::Ack { id, answer } => self.on_ack(id, answer).await,
            Incoming::Events(events) => {
                self.on_events(&events);
                Flow::Go
            }
            Incoming::Sync(page) => self.on_sync(page).await,
            Incoming::Count(count) => {
                self.run.slots[self.index]
                    .count
                    .store(count, Ordering::Relaxed);
                Flow::Go
            }
            Incoming::Disconnect => self.fail("disconnected"),
            Incoming::Other => Flow::Go,
        }
    }

    async fn on_ack(&mut self, id: u64, answer: Answer<'_>) -> Flow {
        let Some(at) = self.pending.iter().position(|p| p.id == id) else {
            return Flow::Go; // already counted as a timeout
        };
        let Some(pending) = self.pending.remove(at) else {
            return Flow::Go;
        };
        let latency = pending.sent.elapsed();
        if !answer.ok {
            let code = answer.code.as_deref().unwrap_or("invalid_response");
            self.run.error(code, self.role.heartbeater);
        }
        match pending.request {
            Request::Join => self.on_join(answer, latency).await,
            Request::Members if answer.ok => self.on_page(answer).await,
            Request::Heartbeat if answer.ok && self.role.heartbeater => {
                self.run.record(|r| r.heartbeater.record(latency));
                Flow::Go
            }
            Request::Update => {
                self.on_update_ack(&answer);
                Flow::Go
            }
            Request::Leave => {
                self.run.record(|r| r.leave.record(latency));
                Flow::Close
            }
            _ => Flow::Go,
        }
    }

    async fn on_join(&mut self, answer: Answer<'_>, latency: Duration) -> Flow {
        let me = answer.me.as_ref().filter(|_| answer.ok);
        if let Some(me) = me {
            self.epoch = Some(me.epoch);
            self.conn_id = Some(me.conn_id.clone());
            let _ = self.run.slots[self.index].conn.set(me.conn_id.clone());
            self.run.record(|r| r.join.record(latency));
            self.run
                .last_join_ack_ns
                .fetch_max(self.run.now_ns(), Ordering::SeqCst);
        } else if answer.ok {
            self.run.error("invalid_response", self.role.heartbeater);
        }
        self.settle_join();
        if me.is_some() {
            return self.on_page(answer).await;
        }
        Flow::Go
    }

    /// Applies a page of the room (a join's, a sync's or `presence:members`'), and asks for the
    /// next one.
    async fn on_page(&mut self, page: Answer<'_>) -> Flow {
        let entries = page.snapshot.unwrap_or_default();
        if self.role.count {
            if !entries.is_empty() {
                self.per_member_frame();
            }
            return Flow::Go;
        }
        self.apply_entries(&entries);
        match page.cursor {
            Some(cursor) => self.send_members(cursor).await,
            None => Flow::Go,
        }
    }

    fn apply_entries(&mut self, entries: &[Entry<'_>]) {
        for entry in entries {
            self.view.upsert(&entry.conn_id, entry.epoch, entry.rev);
        }
        self.publish_view();
    }

    async fn on_sync(&mut self, page: Answer<'_>) -> Flow {
        if self.role.count {
            self.per_member_frame();
            return Flow::Go;
        }
        self.view.reset();
        self.on_page(page).await
    }

    fn on_events(&mut self, events: &[Event<'_>]) {
        if self.role.count {
            self.per_member_frame();
            return;
        }
        for event in events {
            match event.kind {
                Kind::Join | Kind::Update => {
                    self.view.upsert(&event.conn_id, event.epoch, event.rev);
                }
                Kind::Leave => self.view.leave(&event.conn_id, event.epoch),
            }
            if let Some(n) = event.n() {
                self.on_update(&event.conn_id, n);
            }
        }
        self.publish_view();
    }

    /// Counts the receipt of update `n` of `sender` (not this member's own), once.
    fn on_update(&mut self, sender: &str, n: u64) {
        if self.conn_id.as_deref() == Some(sender) {
            return;
        }
        let deliveries = &self.run.deliveries;
        if !self.seen.insert((sender.to_string(), n)) {
            deliveries.duplicate.fetch_add(1, Ordering::Relaxed);
            return;
        }
        deliveries.received.fetch_add(1, Ordering::Relaxed);
        let sent = self
            .run
            .update_sent
            .lock()
            .expect("update times lock")
            .get(sender)
            .and_then(|times| times.get(n as usize).copied())
            .unwrap_or(0);
        let now = self.run.now_ns();
        if sent > 0 && now >= sent {
            let latency = Duration::from_nanos(now - sent);
            self.run.record(|r| r.fanout.record(latency));
        }
    }

    fn on_update_ack(&mut self, answer: &Answer<'_>) {
        if answer.changed == Some(true) {
            let others = self.run.receivers.load(Ordering::Relaxed).saturating_sub(1);
            self.run
                .deliveries
                .expected
                .fetch_add(others, Ordering::Relaxed);
        }
        self.update_settled();
    }

    fn update_settled(&self) {
        self.run.deliveries.settled.fetch_add(1, Ordering::Relaxed);
    }

    fn per_member_frame(&self) {
        self.run.per_member_frames.fetch_add(1, Ordering::Relaxed);
    }

    /// Tells the run whether this member's view is complete.
    fn publish_view(&self) {
        let generation = self.view.complete_generation().unwrap_or(0);
        self.run.slots[self.index]
            .complete
            .store(generation, Ordering::Relaxed);
    }

    /// Tells the run this member's join is settled, once.
    fn settle_join(&mut self) {
        if !self.join_settled {
            self.join_settled = true;
            self.run.settle();
        }
    }
}

/// An interval of `period` whose first tick is `first` from now, skipping missed ticks.
fn every(period: Duration, first: Duration) -> Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// The next tick, or never without an interval.
async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}
