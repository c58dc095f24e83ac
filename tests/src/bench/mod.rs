//! The load test: many simulated users in many rooms, each sending state-patching heartbeats at
//! a set rate, measuring ack latency and join fan-out, counting the presence events that reach
//! the room, and reporting errors by code. Each user speaks the protocol on its own WebSocket
//! ([`user`]), so the generator is cheap next to the server it measures. `rtm-bench` is its
//! command line; a short smoke run is in `make test`. One room of thousands is [`large_room`]'s
//! (`rtm-large-room`).

pub mod large_room;
pub mod stats;
mod user;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Notify, watch};

use stats::{Latencies, Summary};

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The server.
    #[arg(long, env = "TARGET_URL", default_value = "http://localhost:3000")]
    pub target_url: String,
    /// Rooms.
    #[arg(long, env = "ROOM_COUNT", default_value_t = 100)]
    pub room_count: usize,
    /// Clients per room.
    #[arg(long, env = "USERS_PER_ROOM", default_value_t = 2)]
    pub users_per_room: usize,
    /// How long to send heartbeats, after everyone joined.
    #[arg(long, env = "TEST_DURATION_MS", default_value_t = 60_000)]
    pub test_duration_ms: u64,
    /// Heartbeats per second, per client.
    #[arg(long, env = "HEARTBEATS_PER_SEC", default_value_t = 0.1)]
    pub heartbeats_per_sec: f64,
    /// Spread the joins over this long.
    #[arg(long, env = "RAMP_UP_MS", default_value_t = 5_000)]
    pub ramp_up_ms: u64,
    /// How long an ack may take before it counts as a timeout.
    #[arg(long, env = "ACK_TIMEOUT_MS", default_value_t = 5_000)]
    pub ack_timeout_ms: u64,
    /// Send plain heartbeats instead of state patches (no update fans out).
    #[arg(long, env = "NO_PATCH")]
    pub no_patch: bool,
    /// Join and stay idle: only a keep-alive heartbeat every 10 s, without patches.
    #[arg(long, env = "IDLE")]
    pub idle: bool,
    /// The server's process id, to report its memory (RSS) when it runs on this machine.
    #[arg(long, env = "SERVER_PID")]
    pub server_pid: Option<u32>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Clients that joined.
    pub clients: usize,
    /// Rooms.
    pub rooms: usize,
    /// Join ack latency.
    pub join: Summary,
    /// From a user sending its join to each other user of the room receiving the join event.
    pub join_fanout: Summary,
    /// Heartbeat (or state update) ack latency.
    pub heartbeat: Summary,
    /// Heartbeats the clients were to send per second, all together.
    pub target_heartbeats_per_sec: f64,
    /// Heartbeats acknowledged per second.
    pub achieved_heartbeats_per_sec: f64,
    /// Presence update events the rooms should have received.
    pub events_expected: u64,
    /// Presence update events received.
    pub events_received: u64,
    /// Expected events that never arrived.
    pub events_missing: u64,
    /// Update events received again (at or below the newest `(epoch, rev)` seen for their
    /// connection).
    pub events_duplicate: u64,
    /// Errors by code.
    pub errors: BTreeMap<String, u64>,
    /// The server's resident memory at the end, when `--server-pid` was given.
    pub server_rss_mb: Option<f64>,
}

impl Report {
    /// All errors together.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

#[derive(Default)]
struct Counters {
    expected: AtomicU64,
    received: AtomicU64,
    duplicate: AtomicU64,
    acked: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

/// Where a run is; every user follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Users join (over the ramp-up) and wait.
    Joining,
    /// Users send heartbeats.
    Sending,
    /// Users stop sending and only count the last events.
    Draining,
    /// Users leave.
    Done,
}

/// What the users of a run share.
struct Shared {
    options: Options,
    clients: usize,
    /// Names this run's rooms apart from other runs'.
    run_id: String,
    origin: Instant,
    /// When each user sent its join, ns since `origin` (0 before).
    join_sent: Vec<AtomicU64>,
    /// Users joined per room.
    room_members: Vec<AtomicU64>,
    counters: Counters,
    joins_settled: AtomicUsize,
    all_settled: Notify,
}

impl Shared {
    fn error(&self, code: &str) {
        *self
            .counters
            .errors
            .lock()
            .expect("errors lock")
            .entry(code.to_string())
            .or_default() += 1;
    }

    /// One more user's join is settled (answered, refused or failed).
    fn joined(&self) {
        if self.joins_settled.fetch_add(1, Ordering::SeqCst) + 1 == self.clients {
            self.all_settled.notify_one();
        }
    }

    fn since_origin(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// Runs the load test.
pub async fn run(options: &Options) -> Report {
    let clients = options.room_count * options.users_per_room;
    let progress = progress_bar(options, clients);
    let shared = Arc::new(Shared {
        options: options.clone(),
        clients,
        run_id: format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        ),
        origin: Instant::now(),
        join_sent: (0..clients).map(|_| AtomicU64::new(0)).collect(),
        room_members: (0..options.room_count).map(|_| AtomicU64::new(0)).collect(),
        counters: Counters::default(),
        joins_settled: AtomicUsize::new(0),
        all_settled: Notify::new(),
    });
    let (phase, watching) = watch::channel(Phase::Joining);
    let settled = shared.all_settled.notified();
    let users: Vec<_> = (0..clients)
        .map(|i| tokio::spawn(user::run(i, shared.clone(), watching.clone())))
        .collect();
    if clients > 0 {
        settled.await;
    }

    progress.set_message("sending");
    let _ = phase.send(Phase::Sending);
    let begin = Instant::now();
    let duration = Duration::from_millis(options.test_duration_ms);
    while begin.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(200).min(duration)).await;
        progress.set_position(begin.elapsed().as_millis().min(duration.as_millis()) as u64);
    }
    let elapsed = begin.elapsed().as_secs_f64().max(0.001);
    let acked = shared.counters.acked.load(Ordering::SeqCst);
    let _ = phase.send(Phase::Draining);
    // Let the last acks and events arrive, then count.
    progress.set_message("draining");
    let grace = Instant::now() + Duration::from_millis(options.ack_timeout_ms.min(3_000));
    let counters = &shared.counters;
    while counters.received.load(Ordering::SeqCst) < counters.expected.load(Ordering::SeqCst)
        && Instant::now() < grace
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected = counters.expected.load(Ordering::SeqCst);
    let received = counters.received.load(Ordering::SeqCst);
    let server_rss_mb = options.server_pid.and_then(rss_mb);
    let _ = phase.send(Phase::Done);

    let mut join = Latencies::default();
    let mut join_fanout = Latencies::default();
    let mut heartbeat = Latencies::default();
    for user in users {
        if let Ok(measured) = user.await {
            join.merge(&measured.join);
            join_fanout.merge(&measured.join_fanout);
            heartbeat.merge(&measured.heartbeat);
        }
    }
    progress.finish_and_clear();
    let joined = shared
        .room_members
        .iter()
        .map(|m| m.load(Ordering::SeqCst) as usize)
        .sum();
    Report {
        clients: joined,
        rooms: options.room_count,
        join: join.summary(),
        join_fanout: join_fanout.summary(),
        heartbeat: heartbeat.summary(),
        target_heartbeats_per_sec: if options.idle {
            0.0
        } else {
            clients as f64 * options.heartbeats_per_sec
        },
        achieved_heartbeats_per_sec: acked as f64 / elapsed,
        events_expected: expected,
        events_received: received,
        events_missing: expected.saturating_sub(received),
        events_duplicate: counters.duplicate.load(Ordering::SeqCst),
        errors: counters.errors.lock().expect("errors lock").clone(),
        server_rss_mb,
    }
}

fn progress_bar(options: &Options, clients: usize) -> indicatif::ProgressBar {
    if options.quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(options.test_duration_ms);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {elapsed}/{duration} ({pos}/{len} ms)",
        )
        .expect("valid template"),
    );
    bar.set_message(format!("joining {clients} clients"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A process's resident memory, MB, from /proc (Linux).
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
