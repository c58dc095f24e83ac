//! The large-room load test (`rtm-large-room`): one room of thousands, as `docs/protocol.md`'s
//! "Large rooms" serves it, measured against its targets.
//!
//! - **meeting**: 1,000 `"events"` members (batched) join one room; each keeps a view of the
//!   room (paged snapshot plus events, with tombstones) and the run measures how soon after the
//!   last join every view equals the truth, then 20 members patch their state once a second
//!   (each update must reach every other member exactly once), then 500 leave and the remaining
//!   views must converge again.
//! - **audience**: 10 `"events"` observers and 10,000 `"count"` members: their counts must reach
//!   the total, the observers' views must complete, no per-member presence may reach a count
//!   member, the server's memory per connection is measured, and when the audience disconnects
//!   the observers' views must empty.
//!
//! In both, a *heartbeater* heartbeats every 200 ms throughout: its ack latency shows how the
//! server answers everyone else while the room churns. Each member is a raw WebSocket
//! ([`member`]) in a task of its own on the caller's (single-threaded) runtime.

mod conn;
mod frames;
mod member;
mod shared;
mod view;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::rss_mb;
use super::stats::Summary;
use member::{Exit, Role};
use shared::{Run, Stage, Step};

/// The heartbeater's interval.
const HEARTBEATER_EVERY: Duration = Duration::from_millis(200);
/// Everyone else's heartbeat interval: well within the server's TTL (30 s).
const KEEPALIVE: Duration = Duration::from_secs(10);
/// How often convergence is checked.
const POLL: Duration = Duration::from_millis(50);

/// Which room to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Everyone sees everyone: views, updates, leaves.
    Meeting,
    /// A few observers and a counted audience.
    Audience,
}

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The scenario.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// The server.
    #[arg(long, env = "TARGET_URL", default_value = "http://localhost:3000")]
    pub target_url: String,
    /// Members joining (meeting: 1000 by default, audience: 10000), besides the heartbeater
    /// and the observers.
    #[arg(long)]
    pub members: Option<usize>,
    /// Joins per second (meeting: 100 by default, audience: 500).
    #[arg(long)]
    pub join_rate: Option<f64>,
    /// Meeting: members that patch their state.
    #[arg(long, default_value_t = 20)]
    pub updaters: usize,
    /// Meeting: updates each updater sends, one a second.
    #[arg(long, default_value_t = 10)]
    pub updates: u64,
    /// Meeting: members that leave at the end (at most half the members).
    #[arg(long, default_value_t = 500)]
    pub leavers: usize,
    /// Audience: `"events"` observers.
    #[arg(long, default_value_t = 10)]
    pub observers: usize,
    /// How long an ack may take before it counts as a timeout.
    #[arg(long, default_value_t = 5_000)]
    pub ack_timeout_ms: u64,
    /// How long to wait for views or counts to converge before giving up.
    #[arg(long, default_value_t = 30_000)]
    pub converge_timeout_ms: u64,
    /// The server's process id, to read its memory (RSS) when it runs on this machine.
    #[arg(long, env = "SERVER_PID")]
    pub server_pid: Option<u32>,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl Options {
    /// Members joining, besides the heartbeater and the observers.
    pub fn members(&self) -> usize {
        self.members.unwrap_or(match self.scenario {
            Scenario::Meeting => 1_000,
            Scenario::Audience => 10_000,
        })
    }

    /// Joins per second.
    pub fn join_rate(&self) -> f64 {
        self.join_rate.unwrap_or(match self.scenario {
            Scenario::Meeting => 100.0,
            Scenario::Audience => 500.0,
        })
    }

    /// Connections the run opens.
    pub fn connections(&self) -> usize {
        match self.scenario {
            Scenario::Meeting => 1 + self.members(),
            Scenario::Audience => 1 + self.observers + self.members(),
        }
    }
}

/// One measured figure and its target.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was measured.
    pub what: String,
    /// The figure; `None` when it never happened within the convergence timeout.
    pub measured: Option<f64>,
    /// Its unit (`ms`, `KB`, or empty for counts).
    pub unit: String,
    /// The target, as text (`≤ 2000 ms`); empty for a figure without one.
    pub target: String,
    /// Whether the target was met; `None` without a target.
    pub met: Option<bool>,
}

/// The update phase's deliveries.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Deliveries {
    /// Due: for each update acked as changed, every other member of the room.
    pub expected: u64,
    /// Received, once per receiver, sender and update.
    pub received: u64,
    /// Due but never received.
    pub missing: u64,
    /// Received more than once.
    pub duplicate: u64,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario.
    pub scenario: Scenario,
    /// The room.
    pub room_id: String,
    /// Members asked for (besides the heartbeater and the observers).
    pub members: usize,
    /// Joins per second.
    pub join_rate: f64,
    /// Audience: `"events"` observers.
    pub observers: usize,
    /// Connections in the room once everyone joined (heartbeater and observers included).
    pub joined: usize,
    /// Join ack latency.
    pub join: Summary,
    /// The heartbeater's ack latency.
    pub heartbeater: Summary,
    /// The heartbeater's errors by code, timeouts included.
    pub heartbeater_errors: BTreeMap<String, u64>,
    /// Meeting: from an update's send to each other member's receipt.
    pub fanout: Option<Summary>,
    /// Meeting: the update phase's deliveries.
    pub deliveries: Option<Deliveries>,
    /// Meeting: leave ack latency.
    pub leave: Option<Summary>,
    /// Audience: the server's RSS before the audience joined, MB.
    pub rss_before_mb: Option<f64>,
    /// Audience: the server's RSS once it had joined, MB.
    pub rss_after_mb: Option<f64>,
    /// Errors by code (acks with `ok: false`, failed connections), timeouts apart.
    pub errors: BTreeMap<String, u64>,
    /// Acks that did not come within the ack timeout.
    pub timeouts: u64,
    /// The generator's own CPU time over the run, % of one core: near 100, its latencies are
    /// partly its own.
    pub generator_cpu_percent: Option<f64>,
    /// The figures against their targets.
    pub checks: Vec<Check>,
}

impl Report {
    /// The checks whose target was missed.
    pub fn missed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.met == Some(false))
    }
}

/// Runs the scenario.
pub async fn run(options: &Options) -> Report {
    match options.scenario {
        Scenario::Meeting => meeting(options).await,
        Scenario::Audience => audience(options).await,
    }
}

/// The meeting: views after the joins, updates exactly once, views after the leaves.
async fn meeting(options: &Options) -> Report {
    let members = options.members();
    let updaters = options.updaters.min(members);
    let leavers = options.leavers.min(members / 2);
    let mut driver = Driver::new(options, 1 + members);
    driver.join_heartbeater().await;
    driver.say(format!(
        "{members} members join at {}/s",
        options.join_rate()
    ));
    driver.start(1..1 + members, options.join_rate(), |i| Role {
        count: false,
        heartbeat_every: KEEPALIVE,
        heartbeater: false,
        updater: (i <= updaters).then(|| (i - 1) as u32),
        exit: (i > members - leavers).then_some(Exit::Leave),
    });
    driver.settle(1 + members).await;

    let last_ack = driver.last_join_ack();
    let everyone = driver.run.joined(0..1 + members);
    driver.say(format!("{} joined; views converge", everyone.len()));
    driver.publish(Step::Settling, driver.run.truth(&everyone));
    let run = driver.run.clone();
    let views = driver
        .until(|| run.incomplete(&everyone) == 0)
        .await
        .map(|at| ms_between(last_ack, at));

    driver.say(format!("{updaters} members patch their state"));
    let deliveries = driver.updates(&everyone, updaters).await;

    let remaining = driver.run.joined(0..1 + members - leavers);
    driver.say(format!("{leavers} members leave"));
    let began = Instant::now();
    driver.publish(Step::Leaving, driver.run.truth(&remaining));
    let after_leaves = driver
        .until(|| run.incomplete(&remaining) == 0)
        .await
        .map(|at| ms_between(began, at));
    let incomplete = run.incomplete(&remaining);
    driver.finish().await;

    let mut report = driver.report(members, everyone.len());
    let recorded = run.latencies.lock().expect("latencies lock");
    report.fanout = Some(recorded.fanout.summary());
    report.leave = Some(recorded.leave.summary());
    report.deliveries = Some(deliveries);
    drop(recorded);
    report.checks = vec![
        at_most("join ack p99", Some(report.join.p99_ms), "ms", 200.0),
        at_most(
            "views complete after the last join ack",
            views,
            "ms",
            2_000.0,
        ),
        at_most(
            "update fan-out p99",
            report.fanout.map(|s| s.p99_ms),
            "ms",
            200.0,
        ),
        at_most("updates missing", Some(deliveries.missing as f64), "", 0.0),
        at_most(
            "updates duplicated",
            Some(deliveries.duplicate as f64),
            "",
            0.0,
        ),
        at_most(
            &format!("views complete after {leavers} leaves ({incomplete} not)"),
            after_leaves,
            "ms",
            3_000.0,
        ),
    ];
    report.checks.extend(common_checks(&report));
    report
}

/// The audience: counts, observers' views, no per-member frames to count members, memory per
/// connection, and the observers' views emptying when the audience goes.
async fn audience(options: &Options) -> Report {
    let members = options.members();
    let observers = options.observers;
    let all = 1 + observers + members;
    let mut driver = Driver::new(options, all);
    driver.join_heartbeater().await;
    driver.start(1..1 + observers, options.join_rate(), |_| Role {
        count: false,
        heartbeat_every: KEEPALIVE,
        heartbeater: false,
        updater: None,
        exit: None,
    });
    driver.settle(1 + observers).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = options.server_pid.and_then(rss_mb);

    driver.say(format!(
        "{members} count members join at {}/s",
        options.join_rate()
    ));
    driver.start(1 + observers..all, options.join_rate(), |_| Role {
        count: true,
        heartbeat_every: KEEPALIVE,
        heartbeater: false,
        updater: None,
        exit: Some(Exit::Disconnect),
    });
    driver.settle(all).await;
    let rss_after = options.server_pid.and_then(rss_mb);
    let last_ack = driver.last_join_ack();
    let everyone = driver.run.joined(0..all);
    let watchers = driver.run.joined(0..1 + observers);
    let audience = driver.run.joined(1 + observers..all);
    let total = everyone.len() as u64;
    driver.say(format!("{total} joined; counts and views converge"));
    driver.publish(Step::Settling, driver.run.truth(&everyone));
    let run = driver.run.clone();
    let [counts, views] = driver
        .until_each([&|| run.miscounted(&audience, total) == 0, &|| {
            run.incomplete(&watchers) == 0
        }])
        .await;
    let miscounted = run.miscounted(&audience, total);

    driver.say("the audience disconnects".into());
    let began = Instant::now();
    driver.publish(Step::Leaving, driver.run.truth(&watchers));
    let emptied = driver
        .until(|| run.incomplete(&watchers) == 0)
        .await
        .map(|at| ms_between(began, at));
    let not_emptied = run.incomplete(&watchers);
    driver.finish().await;

    let mut report = driver.report(members, everyone.len());
    report.rss_before_mb = rss_before;
    report.rss_after_mb = rss_after;
    let per_connection = rss_before
        .zip(rss_after)
        .map(|(before, after)| (after - before) * 1024.0 / audience.len().max(1) as f64);
    let counts_ms = counts.map(|at| ms_between(last_ack, at));
    let views_after_counts = counts.zip(views).map(|(c, v)| ms_between(c, v).max(0.0));
    report.checks = vec![
        at_most("join ack p99", Some(report.join.p99_ms), "ms", 200.0),
        at_most(
            &format!("counts = {total} after the last join ack ({miscounted} not)"),
            counts_ms,
            "ms",
            2_000.0,
        ),
        info(
            &format!("{observers} observers' views complete after the last join ack"),
            views.map(|at| ms_between(last_ack, at)),
            "ms",
        ),
        at_most(
            &format!("{observers} observers' views complete after the counts"),
            views_after_counts,
            "ms",
            2_000.0,
        ),
        at_most(
            "per-member frames to count members",
            Some(run.per_member_frames.load(Ordering::SeqCst) as f64),
            "",
            0.0,
        ),
        at_most(
            "server RSS per joined connection",
            per_connection,
            "KB",
            12.0,
        ),
        Check {
            what: format!(
                "observers' views empty after the audience disconnected ({not_emptied} not)"
            ),
            measured: emptied,
            unit: "ms".into(),
            target: "empties".into(),
            met: Some(emptied.is_some()),
        },
    ];
    report.checks.extend(common_checks(&report));
    report
}

/// The checks of every scenario: the heartbeater's latency and errors, and all errors.
fn common_checks(report: &Report) -> Vec<Check> {
    let heartbeater_errors: u64 = report.heartbeater_errors.values().sum();
    let errors: u64 = report.errors.values().sum::<u64>() + report.timeouts;
    vec![
        info(
            "the generator's CPU (% of one core, whole run)",
            report.generator_cpu_percent,
            "%",
        ),
        at_most(
            "heartbeater ack p99",
            Some(report.heartbeater.p99_ms),
            "ms",
            100.0,
        ),
        at_most(
            "heartbeater errors and timeouts",
            Some(heartbeater_errors as f64),
            "",
            0.0,
        ),
        at_most("errors and timeouts", Some(errors as f64), "", 0.0),
    ]
}

/// A figure with target "at most `limit`" (missed when it never happened).
fn at_most(what: &str, measured: Option<f64>, unit: &str, limit: f64) -> Check {
    let space = if unit.is_empty() { "" } else { " " };
    Check {
        what: what.into(),
        measured,
        unit: unit.into(),
        target: format!("≤ {limit}{space}{unit}"),
        met: Some(measured.is_some_and(|m| m <= limit)),
    }
}

/// A figure without a target.
fn info(what: &str, measured: Option<f64>, unit: &str) -> Check {
    Check {
        what: what.into(),
        measured,
        unit: unit.into(),
        target: String::new(),
        met: None,
    }
}

/// This process's CPU time (user and system), seconds, from /proc (Linux; 100 ticks a second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Milliseconds from `from` to `to` (negative when `to` came first).
fn ms_between(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(from.duration_since(to).as_secs_f64() * 1000.0),
    }
}

/// Steers a run: starts members, moves them through the steps, waits for convergence.
struct Driver {
    options: Options,
    run: Arc<Run>,
    stage: watch::Sender<Stage>,
    tasks: Vec<JoinHandle<()>>,
    /// When the last member started so far.
    last_start: tokio::time::Instant,
}

impl Driver {
    fn new(options: &Options, slots: usize) -> Self {
        let run = Run::new(
            &options.target_url,
            Duration::from_millis(options.ack_timeout_ms),
            options.updates,
            slots,
        );
        let (stage, _) = watch::channel(Stage {
            step: Step::Joining,
            truth: None,
        });
        Driver {
            options: options.clone(),
            run: Arc::new(run),
            stage,
            tasks: Vec::new(),
            last_start: tokio::time::Instant::now(),
        }
    }

    fn say(&self, what: String) {
        if !self.options.quiet {
            eprintln!(
                "[{:>6.1} s] {what}",
                self.run.origin.elapsed().as_secs_f64()
            );
        }
    }

    /// Starts the heartbeater (member 0) and waits for its join. It runs on a thread of its own,
    /// as a client elsewhere would: what it measures is the server's latency, not the time this
    /// generator's thread is busy with thousands of other members (when they all disconnect at
    /// once, say).
    async fn join_heartbeater(&mut self) {
        let role = Role {
            count: false,
            heartbeat_every: HEARTBEATER_EVERY,
            heartbeater: true,
            updater: None,
            exit: None,
        };
        let (run, stage) = (self.run.clone(), self.stage.subscribe());
        let start = tokio::time::Instant::now();
        self.tasks.push(tokio::task::spawn_blocking(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the heartbeater")
                .block_on(member::run(0, role, run, stage, start));
        }));
        self.settle(1).await;
    }

    /// Starts members `indices`, their joins spread at `rate` per second from now.
    fn start(&mut self, indices: Range<usize>, rate: f64, role: impl Fn(usize) -> Role) {
        let now = tokio::time::Instant::now();
        let first = indices.start;
        for index in indices {
            let delay = Duration::from_secs_f64((index - first) as f64 / rate.max(0.001));
            self.last_start = self.last_start.max(now + delay);
            self.tasks.push(tokio::spawn(member::run(
                index,
                role(index),
                self.run.clone(),
                self.stage.subscribe(),
                now + delay,
            )));
        }
    }

    /// Waits until `joins` joins are settled (each is answered, refused, failed or timed out),
    /// or, should a member never tell, until well past the last start and the ack timeout.
    async fn settle(&self, joins: usize) {
        let deadline = self.last_start + Duration::from_millis(self.options.ack_timeout_ms) * 3;
        while self.run.settled.load(Ordering::SeqCst) < joins
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(POLL).await;
        }
    }

    /// When the last join was answered.
    fn last_join_ack(&self) -> Instant {
        self.run
            .at(self.run.last_join_ack_ns.load(Ordering::SeqCst))
    }

    fn publish(&self, step: Step, truth: Arc<view::Truth>) {
        self.stage.send_replace(Stage {
            step,
            truth: Some(truth),
        });
    }

    /// When `done` first held, checked every [`POLL`]; `None` after the convergence timeout.
    async fn until(&self, done: impl Fn() -> bool) -> Option<Instant> {
        let [at] = self.until_each([&done]).await;
        at
    }

    /// When each condition first held, checked together every [`POLL`] until all held or the
    /// convergence timeout passed.
    async fn until_each<const N: usize>(
        &self,
        done: [&dyn Fn() -> bool; N],
    ) -> [Option<Instant>; N] {
        let deadline = Instant::now() + Duration::from_millis(self.options.converge_timeout_ms);
        let mut at = [None; N];
        loop {
            let now = Instant::now();
            for (when, done) in at.iter_mut().zip(done) {
                if when.is_none() && done() {
                    *when = Some(now);
                }
            }
            if at.iter().all(Option::is_some) || now >= deadline {
                return at;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The update phase: `updaters` members send their updates; waits until all are answered
    /// and delivered (or a timeout passed).
    async fn updates(&self, everyone: &[usize], updaters: usize) -> Deliveries {
        let run = &self.run;
        run.receivers.store(everyone.len() as u64, Ordering::SeqCst);
        let senders = everyone
            .iter()
            .filter(|&&i| (1..=updaters).contains(&i))
            .count();
        let sends = senders as u64 * self.options.updates;
        let truth = self.stage.borrow().truth.clone().unwrap_or_default();
        self.publish(Step::Updating, truth);
        tokio::time::sleep(Duration::from_secs(self.options.updates)).await;
        let d = &run.deliveries;
        let deadline = Instant::now() + Duration::from_millis(self.options.ack_timeout_ms + 1_000);
        while (d.settled.load(Ordering::SeqCst) < sends
            || d.received.load(Ordering::SeqCst) < d.expected.load(Ordering::SeqCst))
            && Instant::now() < deadline
        {
            tokio::time::sleep(POLL).await;
        }
        let expected = d.expected.load(Ordering::SeqCst);
        let received = d.received.load(Ordering::SeqCst);
        Deliveries {
            expected,
            received,
            missing: expected.saturating_sub(received),
            duplicate: d.duplicate.load(Ordering::SeqCst),
        }
    }

    /// Tells everyone to disconnect and waits for them (a few seconds at most).
    async fn finish(&mut self) {
        self.say("done".into());
        let truth = self.stage.borrow().truth.clone().unwrap_or_default();
        self.publish(Step::Done, truth);
        let tasks = std::mem::take(&mut self.tasks);
        let all = futures_util::future::join_all(tasks);
        let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
    }

    /// The report's common part.
    fn report(&self, members: usize, joined: usize) -> Report {
        let run = &self.run;
        let recorded = run.latencies.lock().expect("latencies lock");
        Report {
            scenario: self.options.scenario,
            room_id: run.room_id.clone(),
            members,
            join_rate: self.options.join_rate(),
            observers: match self.options.scenario {
                Scenario::Meeting => 0,
                Scenario::Audience => self.options.observers,
            },
            joined,
            join: recorded.join.summary(),
            heartbeater: recorded.heartbeater.summary(),
            heartbeater_errors: run.heartbeater_errors.lock().expect("errors lock").clone(),
            fanout: None,
            deliveries: None,
            leave: None,
            rss_before_mb: None,
            rss_after_mb: None,
            errors: run.errors.lock().expect("errors lock").clone(),
            timeouts: run.timeouts.load(Ordering::SeqCst),
            generator_cpu_percent: cpu_seconds()
                .map(|cpu| cpu * 100.0 / run.origin.elapsed().as_secs_f64().max(0.001)),
            checks: Vec::new(),
        }
    }
}
