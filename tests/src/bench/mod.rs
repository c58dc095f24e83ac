//! The load test: many native SDK clients in many rooms, each sending state-patching heartbeats
//! at a set rate, measuring ack latency, counting the presence events that reach the room, and
//! reporting errors by code. `rtm-bench` is its command line; a short smoke run is in `make test`.

pub mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rtm_sdk::{ChannelEvent, ClientOptions, JoinOptions, PresenceEventType, RealtimeClient};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Barrier;
use tokio::time::MissedTickBehavior;

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
    /// Join and stay idle: no heartbeats beyond the SDK's own.
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
    /// Events received more than once (the SDK drops duplicates: counted at the SDK's surface).
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

impl Counters {
    fn error(&self, code: &str) {
        *self
            .errors
            .lock()
            .expect("errors lock")
            .entry(code.to_string())
            .or_default() += 1;
    }
}

/// Runs the load test.
pub async fn run(options: &Options) -> Report {
    let clients = options.room_count * options.users_per_room;
    let counters = Arc::new(Counters::default());
    let joined = Arc::new(Barrier::new(clients + 1));
    let started = Arc::new(Barrier::new(clients + 1));
    let progress = progress_bar(options, clients);
    let run_id = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );

    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let options = options.clone();
        let counters = counters.clone();
        let (joined, started) = (joined.clone(), started.clone());
        let room = format!("bench-{run_id}-{}", i % options.room_count);
        let delay = Duration::from_millis(options.ramp_up_ms * i as u64 / clients.max(1) as u64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            client(i, room, options, counters, joined, started).await
        }));
    }
    joined.wait().await;
    progress.set_message("sending");
    started.wait().await;
    let begin = Instant::now();
    let duration = Duration::from_millis(options.test_duration_ms);
    while begin.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(200).min(duration)).await;
        progress.set_position(
            begin
                .elapsed()
                .as_millis()
                .min(options.test_duration_ms as u128) as u64,
        );
    }
    let mut join = Latencies::default();
    let mut heartbeat = Latencies::default();
    let mut handles = Vec::new();
    for task in tasks {
        if let Ok((j, h, handle)) = task.await {
            join.merge(&j);
            heartbeat.merge(&h);
            handles.extend(handle);
        }
    }
    // Let the last events arrive, then count.
    let grace = Instant::now() + Duration::from_secs(3);
    while counters.received.load(Ordering::SeqCst) < counters.expected.load(Ordering::SeqCst)
        && Instant::now() < grace
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    progress.finish_and_clear();
    let elapsed = begin.elapsed().as_secs_f64().max(0.001);
    let expected = counters.expected.load(Ordering::SeqCst);
    let received = counters.received.load(Ordering::SeqCst);
    let report = Report {
        clients: handles.len(),
        rooms: options.room_count,
        join: join.summary(),
        heartbeat: heartbeat.summary(),
        target_heartbeats_per_sec: if options.idle {
            0.0
        } else {
            clients as f64 * options.heartbeats_per_sec
        },
        achieved_heartbeats_per_sec: counters.acked.load(Ordering::SeqCst) as f64
            / elapsed
                .min(options.test_duration_ms as f64 / 1000.0)
                .max(0.001),
        events_expected: expected,
        events_received: received,
        events_missing: expected.saturating_sub(received),
        events_duplicate: counters.duplicate.load(Ordering::SeqCst),
        errors: counters.errors.lock().expect("errors lock").clone(),
        server_rss_mb: options.server_pid.and_then(rss_mb),
    };
    for (client, _) in &handles {
        client.disconnect().await;
    }
    report
}

type ClientResult = (
    Latencies,
    Latencies,
    Option<(RealtimeClient, rtm_sdk::PresenceChannel)>,
);

/// One simulated user: join, wait for everyone, send heartbeats until the end, count events.
async fn client(
    i: usize,
    room: String,
    options: Options,
    counters: Arc<Counters>,
    joined: Arc<Barrier>,
    started: Arc<Barrier>,
) -> ClientResult {
    let mut join_latency = Latencies::default();
    let mut hb_latency = Latencies::default();
    let interval = Duration::from_secs_f64(1.0 / options.heartbeats_per_sec.max(0.001));
    let sdk_options = ClientOptions::new(&options.target_url).configure(|c| {
        c.request_timeout_ms = options.ack_timeout_ms;
        c.presence.heartbeat_ack_timeout_ms = Some(options.ack_timeout_ms);
        // Patching clients heartbeat through their updates; plain ones at the requested rate.
        c.presence.heartbeat_interval_ms = if options.no_patch && !options.idle {
            interval.as_millis().max(1) as u64
        } else {
            30_000
        };
    });
    let connected = RealtimeClient::connect(sdk_options).await;
    let session = match connected {
        Ok(client) => {
            let t = Instant::now();
            match client
                .join_room(JoinOptions::new(&room, format!("user-{i}")).state(json!({"seq": 0})))
                .await
            {
                Ok((channel, _)) => {
                    join_latency.record(t.elapsed());
                    Some((client, channel))
                }
                Err(err) => {
                    counters.error(err.code());
                    None
                }
            }
        }
        Err(err) => {
            counters.error(err.code());
            None
        }
    };
    joined.wait().await;
    started.wait().await;
    let Some((client, channel)) = session else {
        return (join_latency, hb_latency, None);
    };
    let room_size = channel.members().len().max(1) as u64;
    spawn_counter(&channel, counters.clone());
    let end = Instant::now() + Duration::from_millis(options.test_duration_ms);
    if !options.idle && !options.no_patch {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut seq = 0u64;
        while Instant::now() < end {
            ticker.tick().await;
            seq += 1;
            let t = Instant::now();
            match channel.update_state(json!({ "seq": seq })).await {
                Ok(ack) => {
                    hb_latency.record(t.elapsed());
                    counters.acked.fetch_add(1, Ordering::SeqCst);
                    if ack.changed {
                        counters.expected.fetch_add(room_size, Ordering::SeqCst);
                    }
                }
                Err(err) => counters.error(err.code()),
            }
        }
    } else if !options.idle {
        let mut events = channel.events();
        let deadline = tokio::time::sleep_until(end.into());
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                Some(event) = events.next() => match event {
                    ChannelEvent::HeartbeatAck { rtt_ms, .. } => {
                        hb_latency.record(Duration::from_millis(rtt_ms));
                        counters.acked.fetch_add(1, Ordering::SeqCst);
                    }
                    ChannelEvent::Error(err) => counters.error(err.code()),
                    _ => {}
                },
                () = &mut deadline => break,
            }
        }
    } else {
        tokio::time::sleep_until(end.into()).await;
    }
    (join_latency, hb_latency, Some((client, channel)))
}

/// Counts the presence updates a client receives, and any it receives twice.
fn spawn_counter(channel: &rtm_sdk::PresenceChannel, counters: Arc<Counters>) {
    let mut events = channel.events();
    tokio::spawn(async move {
        let mut seen = std::collections::HashSet::new();
        while let Some(event) = events.next().await {
            if let ChannelEvent::Presence(e) = event
                && e.kind == PresenceEventType::Update
            {
                if seen.insert((e.conn_id, e.epoch, e.rev)) {
                    counters.received.fetch_add(1, Ordering::SeqCst);
                } else {
                    counters.duplicate.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });
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
