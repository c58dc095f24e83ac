//! The fault suite's clients and the truth they are checked against.
//!
//! A [`Fleet`] is N native SDK clients (users `u0`, `u1`, ..., each its own [`RealtimeClient`]),
//! spread over a few rooms, each behind its own link (a one-upstream [`Balancer`]) in front of the
//! shared balancer, so that one client's network can be taken away for good. The test tells the
//! fleet who leaves and how ([`Fleet::leave`], [`Fleet::disconnect`], [`Fleet::lose`]); that is
//! the truth. A watcher samples every live client's view every [`SAMPLE`] and keeps, per
//! (observer, user), a timeline of how many connections the observer shows for the user; each
//! client's channel events (errors, joins, leaves) are logged with their time. The checks read
//! the timelines afterwards:
//! - a **flap**: a live user missing from a live client's view, for any time;
//! - a **ghost**: a user who left still shown after a bound;
//! - a **dead second connection**: a user shown with two or more connections (each has one);
//! - an **early departure**: a lost user (no leave sent) gone before the grace ran out;
//! - a **phantom leave**: a `leave` event for a user who never left.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rtm_sdk::{
    ChannelEvent, ClientOptions, ConnectionState, JoinOptions, PresenceChannel, PresenceEventType,
    RealtimeClient,
};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::balancer::Balancer;
use crate::node::until;

/// How often the watcher samples every view.
pub const SAMPLE: Duration = Duration::from_millis(50);

/// What the fleet looks like and how its clients behave.
#[derive(Debug, Clone, Copy)]
pub struct FleetConfig {
    /// Rooms.
    pub rooms: usize,
    /// Users per room (each user is one client in one room).
    pub per_room: usize,
    /// The SDK's heartbeat interval, ms.
    pub heartbeat_ms: u64,
    /// The SDK's first reconnect delay bound, ms.
    pub reconnect_initial_ms: u64,
    /// The SDK's largest reconnect delay bound, ms.
    pub reconnect_max_ms: u64,
}

/// Where a user stands, as the test made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Up and in its room.
    Live,
    /// Left explicitly (`leave()` or `disconnect()`) at this time (since the fleet started).
    Left(Duration),
    /// Its network went for good at this time: no leave, no Socket.IO DISCONNECT.
    Lost(Duration),
}

impl Status {
    /// Whether the user is live at `t`.
    pub fn live_at(self, t: Duration) -> bool {
        match self {
            Status::Live => true,
            Status::Left(at) | Status::Lost(at) => t < at,
        }
    }

    /// When it departed, if it did.
    pub fn departed_at(self) -> Option<Duration> {
        match self {
            Status::Live => None,
            Status::Left(at) | Status::Lost(at) => Some(at),
        }
    }
}

/// One client of the fleet.
pub struct Participant {
    /// Its user id, `u<i>`.
    pub user: String,
    /// Its room's index.
    pub room: usize,
    /// The client.
    pub client: RealtimeClient,
    /// Its channel.
    pub channel: PresenceChannel,
}

/// Which connections one observer showed for one user, over time.
#[derive(Debug, Default, Clone)]
struct Timeline {
    /// (since, the connection ids shown, sorted), one point per change.
    points: Vec<(Duration, Vec<String>)>,
    /// The last sample.
    last: Duration,
}

impl Timeline {
    /// Each stretch of one count: (start, end, count); the last one ends at the last sample.
    fn intervals(&self) -> impl Iterator<Item = (Duration, Duration, usize)> + '_ {
        self.stretches()
            .map(|(start, end, conns)| (start, end, conns.len()))
    }

    /// Each stretch of one set of connections: (start, end, connections).
    fn stretches(&self) -> impl Iterator<Item = (Duration, Duration, &[String])> + '_ {
        self.points.iter().enumerate().map(|(i, (start, conns))| {
            let end = self.points.get(i + 1).map_or(self.last, |p| p.0);
            (*start, end, conns.as_slice())
        })
    }
}

/// Something a client's channel or connection reported.
#[derive(Debug, Clone)]
pub enum Logged {
    /// An error event (`ChannelEvent::Error`).
    Error {
        /// Its code (`stale_epoch`, `unavailable`, `timeout`, ...).
        code: String,
        /// Its message.
        message: String,
    },
    /// A presence event that changed the view.
    Presence {
        /// Join, update or leave.
        kind: PresenceEventType,
        /// Whose.
        user: String,
        /// Which connection.
        conn: String,
        /// Its epoch.
        epoch: u64,
    },
    /// The channel lost its connection.
    Disconnected(String),
    /// The channel joined again.
    Reconnected,
    /// The client's connection state changed.
    State(ConnectionState, String),
}

#[derive(Default)]
struct Record {
    /// Only while watching.
    watching: bool,
    timelines: BTreeMap<(usize, usize), Timeline>,
    /// Users shown in a view that are not in the observer's room.
    strangers: Vec<String>,
    /// (time, client, what).
    log: Vec<(Duration, usize, Logged)>,
    /// Each user's connection id when the watch started.
    conns_at_watch: HashMap<usize, String>,
}

/// The fleet: its clients, the truth, and what was observed.
pub struct Fleet {
    config: FleetConfig,
    started: Instant,
    rooms: Vec<String>,
    participants: Vec<Participant>,
    links: Vec<Balancer>,
    truth: Arc<Mutex<Vec<Status>>>,
    record: Arc<Mutex<Record>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Fleet {
    /// Connects `rooms × per_room` clients through `balancer` (each behind a link of its own),
    /// spread over one heartbeat interval, and joins each to its room (`<prefix>-r<n>`) with
    /// state `{"i": i}`.
    pub async fn start(config: FleetConfig, prefix: &str, balancer: SocketAddr) -> Self {
        let started = Instant::now();
        let rooms: Vec<String> = (0..config.rooms)
            .map(|r| crate::unique(&format!("{prefix}-r{r}")))
            .collect();
        let n = config.rooms * config.per_room;
        let mut links = Vec::with_capacity(n);
        for _ in 0..n {
            links.push(Balancer::start(vec![balancer]).await);
        }
        let joins = (0..n).map(|i| {
            let url = links[i].url();
            let room = rooms[i % config.rooms].clone();
            // Spread over one heartbeat interval, so the clients' heartbeats are not in step
            // (as real clients' are not): a store outage then meets every phase.
            let delay = Duration::from_millis(config.heartbeat_ms * i as u64 / n as u64);
            async move {
                tokio::time::sleep(delay).await;
                let client = RealtimeClient::connect(client_options(&url, &config))
                    .await
                    .unwrap_or_else(|err| panic!("u{i} cannot connect: {err}"));
                let join = JoinOptions::new(&room, format!("u{i}")).state(json!({ "i": i }));
                let (channel, _) = client
                    .join_room(join)
                    .await
                    .unwrap_or_else(|err| panic!("u{i} cannot join {room}: {err}"));
                Participant {
                    user: format!("u{i}"),
                    room: i % config.rooms,
                    client,
                    channel,
                }
            }
        });
        let participants = futures_util::future::join_all(joins).await;
        let mut fleet = Self {
            config,
            started,
            rooms,
            participants,
            links,
            truth: Arc::new(Mutex::new(vec![Status::Live; n])),
            record: Arc::default(),
            tasks: Vec::new(),
        };
        fleet.collect_events();
        fleet.spawn_watcher();
        fleet
    }

    /// Its configuration.
    pub fn config(&self) -> FleetConfig {
        self.config
    }

    /// Time since the fleet started (the clock of every recorded time).
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// The participants.
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    /// The rooms.
    pub fn rooms(&self) -> &[String] {
        &self.rooms
    }

    /// Each user's status.
    pub fn truth(&self) -> Vec<Status> {
        self.truth.lock().expect("truth lock").clone()
    }

    /// Starts recording timelines (call once the views are settled), and notes each user's
    /// connection id.
    pub fn watch(&self) {
        let conns = self.conn_ids();
        let mut record = self.record.lock().expect("record lock");
        record.watching = true;
        record.conns_at_watch = conns;
    }

    /// Live users whose connection id (as the views show it) is not the one they had when the
    /// watch started: their entry was not resumed but replaced.
    pub fn conn_ids_changed(&self) -> Vec<String> {
        let now = self.conn_ids();
        let record = self.record.lock().expect("record lock");
        let truth = self.truth();
        let mut out: Vec<String> = (0..self.participants.len())
            .filter(|&u| truth[u] == Status::Live)
            .filter_map(|u| {
                let (before, after) = (record.conns_at_watch.get(&u), now.get(&u));
                (before != after).then(|| format!("u{u} was {before:?}, is {after:?}"))
            })
            .collect();
        out.sort();
        out
    }

    /// Leaves the room explicitly (`presence:leave`); the user counts as gone from now.
    pub async fn leave(&self, i: usize) {
        self.depart(i, Status::Left(self.now()));
        self.participants[i].channel.clone().leave().await;
    }

    /// Disconnects the client (`disconnect()`: leaves, then a Socket.IO DISCONNECT).
    pub async fn disconnect(&self, i: usize) {
        self.depart(i, Status::Left(self.now()));
        self.participants[i].client.disconnect().await;
    }

    /// Takes the client's network away for good: its connection is cut (both sides closed, no
    /// leave, no DISCONNECT) and it cannot connect again.
    pub fn lose(&self, i: usize) {
        self.depart(i, Status::Lost(self.now()));
        self.links[i].close();
    }

    fn depart(&self, i: usize, status: Status) {
        let mut truth = self.truth.lock().expect("truth lock");
        assert_eq!(truth[i], Status::Live, "u{i} departs once");
        truth[i] = status;
    }

    /// Observes (the watcher keeps sampling) until `t` on the fleet's clock.
    pub async fn observe_until(&self, t: Duration) {
        if let Some(left) = t.checked_sub(self.now()) {
            tokio::time::sleep(left).await;
        }
    }

    /// Waits until every view equals the truth and every live client is connected; false at
    /// `deadline`.
    pub async fn settle(&self, deadline: Instant) -> bool {
        until(deadline, || self.view_mismatches().is_empty()).await
    }

    /// How every live client's view differs from the truth now: each live client must be
    /// connected and show exactly the live users of its room, one connection each, and all
    /// views must agree on each user's connection id. Empty when they all match.
    pub fn view_mismatches(&self) -> Vec<String> {
        let truth = self.truth();
        let mut out = Vec::new();
        let mut conn_of: HashMap<String, (String, String)> = HashMap::new();
        for (o, p) in self.participants.iter().enumerate() {
            if truth[o] != Status::Live {
                continue;
            }
            let state = p.client.state().state;
            if state != ConnectionState::Connected {
                out.push(format!("u{o} is {}", state.as_str()));
            }
            let mut shown: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for entry in p.channel.connections() {
                shown.entry(entry.user_id).or_default().push(entry.conn_id);
            }
            for (u, q) in self.participants.iter().enumerate() {
                if q.room != p.room {
                    continue;
                }
                let conns = shown.remove(&q.user).unwrap_or_default();
                let want = usize::from(truth[u] == Status::Live);
                if conns.len() != want {
                    out.push(format!(
                        "u{o}'s view shows u{u} with {} connections, not {want}",
                        conns.len()
                    ));
                } else if let [conn] = conns.as_slice() {
                    match conn_of.get(&q.user) {
                        Some((seen_by, other)) if other != conn => {
                            out.push(format!("u{o} shows u{u} as {conn}, {seen_by} as {other}"))
                        }
                        Some(_) => {}
                        None => {
                            conn_of.insert(q.user.clone(), (format!("u{o}"), conn.clone()));
                        }
                    }
                }
            }
            for (stranger, _) in shown {
                out.push(format!("u{o}'s view shows {stranger}, not of its room"));
            }
        }
        out
    }

    /// How the rooms' snapshots on the node at `url` (`GET /api/rooms/{room}/presence`) differ
    /// from the truth and from the views: each live user once, with the connection id the views
    /// show.
    pub async fn server_mismatches(&self, url: &str) -> Vec<String> {
        let truth = self.truth();
        let mut out = Vec::new();
        for (r, room) in self.rooms.iter().enumerate() {
            let body = crate::http_get_json(&format!(
                "{url}/api/rooms/{}/presence",
                crate::encode_path(room)
            ))
            .await;
            let Some(snapshot) = body["snapshot"].as_array() else {
                out.push(format!("no snapshot of room r{r}: {body}"));
                continue;
            };
            let mut shown: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for entry in snapshot {
                let user = entry["userId"].as_str().unwrap_or("?").to_string();
                let conn = entry["connId"].as_str().unwrap_or("?").to_string();
                shown.entry(user).or_default().push(conn);
            }
            // The connection ids a live client of the room shows.
            let view: HashMap<String, String> = self
                .participants
                .iter()
                .enumerate()
                .find(|(o, p)| p.room == r && truth[*o] == Status::Live)
                .map(|(_, p)| {
                    p.channel
                        .connections()
                        .into_iter()
                        .map(|e| (e.user_id, e.conn_id))
                        .collect()
                })
                .unwrap_or_default();
            for (u, q) in self.participants.iter().enumerate() {
                if q.room != r {
                    continue;
                }
                let conns = shown.remove(&q.user).unwrap_or_default();
                let want = usize::from(truth[u] == Status::Live);
                if conns.len() != want {
                    out.push(format!(
                        "the server's room r{r} has u{u} with {} connections, not {want}",
                        conns.len()
                    ));
                } else if let ([conn], Some(seen)) = (conns.as_slice(), view.get(&q.user))
                    && conn != seen
                {
                    out.push(format!(
                        "the server has u{u} as {conn}, the views as {seen}"
                    ));
                }
            }
            for (stranger, _) in shown {
                out.push(format!("the server's room r{r} has {stranger}"));
            }
        }
        out
    }

    /// Live users missing from a live client's view, at any time while watching.
    pub fn flaps(&self) -> Vec<String> {
        let truth = self.truth();
        let record = self.record.lock().expect("record lock");
        let mut out = Vec::new();
        for (&(o, u), timeline) in &record.timelines {
            for (start, end, count) in timeline.intervals() {
                if count == 0 && truth[u].live_at(start) {
                    out.push(format!(
                        "u{u} missing from u{o}'s view at {} for {} ms",
                        secs(start),
                        (end - start).as_millis()
                    ));
                }
            }
        }
        out
    }

    /// Users shown with two or more connections after `after`.
    pub fn doubles_after(&self, after: Duration) -> Vec<String> {
        let record = self.record.lock().expect("record lock");
        let mut out = Vec::new();
        for (&(o, u), timeline) in &record.timelines {
            for (start, end, count) in timeline.intervals() {
                if count >= 2 && end > after {
                    out.push(format!(
                        "u{o}'s view shows u{u} with {count} connections from {} to {}",
                        secs(start),
                        secs(end)
                    ));
                }
            }
        }
        out
    }

    /// Departed users still shown: a user who left explicitly more than `left_bound` after it
    /// left, a lost user more than `lost_bound` after its network went.
    pub fn ghosts(&self, left_bound: Duration, lost_bound: Duration) -> Vec<String> {
        let truth = self.truth();
        let record = self.record.lock().expect("record lock");
        let mut out = Vec::new();
        for (&(o, u), timeline) in &record.timelines {
            let (at, bound, how) = match truth[u] {
                Status::Live => continue,
                Status::Left(at) => (at, left_bound, "left"),
                Status::Lost(at) => (at, lost_bound, "was lost"),
            };
            for (_, end, count) in timeline.intervals() {
                if count > 0 && end > at + bound {
                    out.push(format!(
                        "u{u} {how} at {} but u{o}'s view shows it until {} (bound {} ms)",
                        secs(at),
                        secs(end),
                        bound.as_millis()
                    ));
                }
            }
        }
        out
    }

    /// Lost users that a view dropped before `grace` had passed since their network went.
    pub fn early_departures(&self, grace: Duration) -> Vec<String> {
        let truth = self.truth();
        let record = self.record.lock().expect("record lock");
        let mut out = Vec::new();
        for (&(o, u), timeline) in &record.timelines {
            let Status::Lost(at) = truth[u] else { continue };
            for (start, _, count) in timeline.intervals() {
                if count == 0 && start >= at && start < at + grace {
                    out.push(format!(
                        "u{u} was lost at {} and u{o}'s view dropped it at {} ({} ms, before the grace of {} ms)",
                        secs(at),
                        secs(start),
                        (start - at).as_millis(),
                        grace.as_millis()
                    ));
                }
            }
        }
        out
    }

    /// When departed user `u` was gone for good from every view that was still watched after
    /// it left (the latest time one dropped it), relative to its departure; `None` while some
    /// such view still shows it, or when it did not depart.
    pub fn gone_after(&self, u: usize) -> Option<Duration> {
        let at = self.truth()[u].departed_at()?;
        let record = self.record.lock().expect("record lock");
        let mut latest = Duration::ZERO;
        for (&(o, user), timeline) in &record.timelines {
            if user != u || o == u || timeline.last <= at {
                continue;
            }
            let (since, conns) = timeline.points.last()?;
            if !conns.is_empty() {
                return None;
            }
            latest = latest.max(since.saturating_sub(at));
        }
        Some(latest)
    }

    /// Views that differed from `expected` (each live user's connection id; departed users
    /// shown not at all) at any time after `after`.
    pub fn mismatches_after(
        &self,
        after: Duration,
        expected: &HashMap<usize, String>,
    ) -> Vec<String> {
        let truth = self.truth();
        let record = self.record.lock().expect("record lock");
        let mut out = Vec::new();
        for (&(o, u), timeline) in &record.timelines {
            for (start, end, conns) in timeline.stretches() {
                if end <= after {
                    continue;
                }
                let ok = if truth[u].live_at(start.max(after)) {
                    matches!(conns, [conn] if Some(conn) == expected.get(&u))
                } else {
                    conns.is_empty()
                };
                if !ok {
                    out.push(format!(
                        "u{o}'s view shows u{u} as {conns:?} (not {:?}) from {} to {}",
                        expected.get(&u),
                        secs(start),
                        secs(end)
                    ));
                }
            }
        }
        out
    }

    /// Each live user's connection id, as the first live client of its room shows it.
    pub fn conn_ids(&self) -> HashMap<usize, String> {
        let truth = self.truth();
        let mut out = HashMap::new();
        for (r, _) in self.rooms.iter().enumerate() {
            let Some(p) = self
                .participants
                .iter()
                .enumerate()
                .find(|(o, p)| p.room == r && truth[*o] == Status::Live)
                .map(|(_, p)| p)
            else {
                continue;
            };
            for entry in p.channel.connections() {
                if let Some(u) = self.index_of(&entry.user_id) {
                    out.insert(u, entry.conn_id);
                }
            }
        }
        out
    }

    /// How many `kind` events (that changed a view) the clients saw.
    pub fn presence_events_seen(&self, kind: PresenceEventType) -> usize {
        let record = self.record.lock().expect("record lock");
        record
            .log
            .iter()
            .filter(|(_, _, what)| matches!(what, Logged::Presence { kind: k, .. } if *k == kind))
            .count()
    }

    /// `leave` events, seen by a live client, of users who had not left.
    pub fn phantom_leaves(&self) -> Vec<String> {
        let truth = self.truth();
        let record = self.record.lock().expect("record lock");
        record
            .log
            .iter()
            .filter_map(|(t, o, what)| match what {
                Logged::Presence {
                    kind: PresenceEventType::Leave,
                    user,
                    conn,
                    ..
                } if truth[*o].live_at(*t) => {
                    let u = self.index_of(user)?;
                    truth[u]
                        .live_at(*t)
                        .then(|| format!("u{o} saw {user} ({conn}) leave at {}", secs(*t)))
                }
                _ => None,
            })
            .collect()
    }

    /// Live clients that have not been connected again since `t` (whose connection state did
    /// not become `connected` after it).
    pub fn not_reconnected_since(&self, t: Duration) -> Vec<String> {
        let truth = self.truth();
        let record = self.record.lock().expect("record lock");
        (0..self.participants.len())
            .filter(|&i| truth[i] == Status::Live)
            .filter(|&i| {
                !record.log.iter().any(|(at, o, what)| {
                    *o == i
                        && *at >= t
                        && matches!(what, Logged::State(ConnectionState::Connected, _))
                })
            })
            .map(|i| {
                format!(
                    "u{i} ({})",
                    self.participants[i].client.state().state.as_str()
                )
            })
            .collect()
    }

    /// Error events with this code, from any client.
    pub fn errors_with_code(&self, code: &str) -> Vec<String> {
        let record = self.record.lock().expect("record lock");
        record
            .log
            .iter()
            .filter_map(|(t, o, what)| match what {
                Logged::Error { code: c, message } if c == code => {
                    Some(format!("u{o} at {}: {message} ({c})", secs(*t)))
                }
                _ => None,
            })
            .collect()
    }

    /// Users shown in a view of another room.
    pub fn strangers(&self) -> Vec<String> {
        self.record.lock().expect("record lock").strangers.clone()
    }

    /// Counts of what the clients logged, by kind (for the scenario's summary line).
    pub fn log_counts(&self) -> BTreeMap<String, usize> {
        let record = self.record.lock().expect("record lock");
        let mut counts = BTreeMap::new();
        for (_, _, what) in &record.log {
            let key = match what {
                Logged::Error { code, .. } => format!("error:{code}"),
                Logged::Presence { kind, .. } => format!("{kind:?}").to_lowercase(),
                Logged::Disconnected(_) => "disconnected".into(),
                Logged::Reconnected => "reconnected".into(),
                Logged::State(state, _) => format!("state:{}", state.as_str()),
            };
            *counts.entry(key).or_default() += 1;
        }
        counts
    }

    /// The largest epoch any live view shows.
    pub fn max_epoch_in_views(&self) -> u64 {
        self.live_entries().map(|e| e.epoch).max().unwrap_or(0)
    }

    /// The smallest epoch any live view shows.
    pub fn min_epoch_in_views(&self) -> u64 {
        self.live_entries().map(|e| e.epoch).min().unwrap_or(0)
    }

    fn live_entries(&self) -> impl Iterator<Item = rtm_sdk::PresenceEntry> + '_ {
        let truth = self.truth();
        self.participants
            .iter()
            .enumerate()
            .filter(move |(o, _)| truth[*o] == Status::Live)
            .flat_map(|(_, p)| p.channel.connections())
    }

    fn index_of(&self, user: &str) -> Option<usize> {
        user.strip_prefix('u')?.parse().ok()
    }

    /// One task per client logs its channel events and connection states.
    fn collect_events(&mut self) {
        for (i, p) in self.participants.iter().enumerate() {
            let record = Arc::clone(&self.record);
            let started = self.started;
            let mut events = p.channel.events();
            self.tasks.push(tokio::spawn(async move {
                while let Some(event) = events.next().await {
                    let logged = match event {
                        ChannelEvent::Error(err) => Logged::Error {
                            code: err.code().to_string(),
                            message: err.to_string(),
                        },
                        ChannelEvent::Presence(p) => Logged::Presence {
                            kind: p.kind,
                            user: p.user_id,
                            conn: p.conn_id,
                            epoch: p.epoch,
                        },
                        ChannelEvent::Disconnected { reason } => Logged::Disconnected(reason),
                        ChannelEvent::Reconnected { .. } => Logged::Reconnected,
                        _ => continue,
                    };
                    let t = started.elapsed();
                    record.lock().expect("record lock").log.push((t, i, logged));
                }
            }));
            let record = Arc::clone(&self.record);
            let mut states = Box::pin(p.client.state_changes());
            self.tasks.push(tokio::spawn(async move {
                while let Some(change) = states.next().await {
                    let t = started.elapsed();
                    record.lock().expect("record lock").log.push((
                        t,
                        i,
                        Logged::State(change.state, change.reason),
                    ));
                }
            }));
        }
    }

    /// The watcher: every [`SAMPLE`], each live client's view of each user of its room.
    fn spawn_watcher(&mut self) {
        let record = Arc::clone(&self.record);
        let truth = Arc::clone(&self.truth);
        let started = self.started;
        let views: Vec<(usize, PresenceChannel)> = self
            .participants
            .iter()
            .map(|p| (p.room, p.channel.clone()))
            .collect();
        let roster: Vec<(String, usize)> = self
            .participants
            .iter()
            .map(|p| (p.user.clone(), p.room))
            .collect();
        self.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                if !record.lock().expect("record lock").watching {
                    continue;
                }
                // The truth first: a departure marked before its action is never a flap.
                let statuses = truth.lock().expect("truth lock").clone();
                let t = started.elapsed();
                let mut samples = Vec::new();
                let mut strangers = Vec::new();
                for (o, (room, channel)) in views.iter().enumerate() {
                    if statuses[o] != Status::Live {
                        continue;
                    }
                    let mut counts: HashMap<String, Vec<String>> = HashMap::new();
                    for entry in channel.connections() {
                        counts.entry(entry.user_id).or_default().push(entry.conn_id);
                    }
                    for (u, (user, r)) in roster.iter().enumerate() {
                        if r == room {
                            let mut conns = counts.remove(user).unwrap_or_default();
                            conns.sort();
                            samples.push(((o, u), conns));
                        }
                    }
                    for (user, _) in counts {
                        strangers.push(format!("u{o}'s view shows {user} at {}", secs(t)));
                    }
                }
                let mut record = record.lock().expect("record lock");
                for (key, conns) in samples {
                    let timeline = record.timelines.entry(key).or_default();
                    if timeline.points.last().map(|p| &p.1) != Some(&conns) {
                        timeline.points.push((t, conns));
                    }
                    timeline.last = t;
                }
                record.strangers.extend(strangers);
            }
        }));
    }
}

/// The SDK's options for the fleet: short heartbeats and reconnect delays.
fn client_options(url: &str, config: &FleetConfig) -> ClientOptions {
    ClientOptions::new(url).configure(|c| {
        c.presence.heartbeat_interval = Duration::from_millis(config.heartbeat_ms);
        c.reconnection.initial_delay = Duration::from_millis(config.reconnect_initial_ms);
        c.reconnection.max_delay = Duration::from_millis(config.reconnect_max_ms);
        c.request_timeout = Duration::from_secs(5);
    })
}

/// `t` as seconds with milliseconds, for messages.
fn secs(t: Duration) -> String {
    format!("{:.3}s", t.as_secs_f64())
}
