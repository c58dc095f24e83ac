//! Issue 15's fault suite: presence stays true through deploys, blips, crashes and store
//! outages (docs/protocol.md: "rtm:drain", "Resume", "Disconnect grace", "Views heal
//! themselves", "Expiry").
//!
//! Each scenario starts a private Redis, two nodes as processes (`rtm-test-server`; one in the
//! single-node restart) behind a round-robin TCP balancer, and 20 native SDK clients (users u0..u19) in 4 rooms, each client
//! behind a link of its own. Once every view equals the truth, a watcher samples every client's
//! view every 50 ms; then the fault, and checks over the whole time: no flaps (a live member
//! missing from a view), no ghosts, no dead second connections, no `leave` of a user who never
//! left, no `stale_epoch`, views (and the server's snapshots) equal to the truth at the end, no
//! WARN logged for ordinary disconnects.
//!
//! The scenarios run one at a time (they are timed, and the machine may have two cores).

use std::time::{Duration, Instant};

use rtm_sdk::PresenceEventType;
use rtm_tests::{Balancer, Fleet, FleetConfig, Node, NodeConfig, Proxy, RedisServer, until};

const TTL_MS: u64 = 3_000;
const REAPER_MS: u64 = 250;
const GRACE_MS: u64 = 2_000;
const SHUTDOWN_TIMEOUT_MS: u64 = 8_000;
const HEARTBEAT_MS: u64 = 500;
const ROOMS: usize = 4;
const PER_ROOM: usize = 5;
const CLIENTS: usize = ROOMS * PER_ROOM;

/// An explicit departure (`leave()`, `disconnect()`) is gone from every view within this.
const AT_ONCE: Duration = Duration::from_millis(1_000);
/// What the bounds allow beyond the protocol's own (scheduling, sampling, a loaded machine).
const SLACK: Duration = Duration::from_millis(1_000);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One scenario at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A scenario's world, and the failures found so far.
struct Env {
    name: &'static str,
    started: Instant,
    // Dropped in this order: the clients first, then the nodes, then Redis.
    fleet: Fleet,
    balancer: Balancer,
    nodes: Vec<Node>,
    /// How the nodes were started (for a replacement).
    node_config: NodeConfig,
    /// Between the nodes and Redis, when the scenario asked for it.
    redis_proxy: Option<Proxy>,
    redis: Option<RedisServer>,
    failures: Vec<String>,
    notes: Vec<String>,
}

impl Env {
    /// Redis, two nodes, the balancer and the settled fleet; the watcher is on.
    async fn start(name: &'static str) -> Self {
        Self::start_with(name, 2, false).await
    }

    /// As [`Env::start`], with `nodes` nodes; with `redis_proxy`, the nodes reach Redis through
    /// a [`Proxy`] that can swallow every byte (a network partition between them and the store).
    async fn start_with(name: &'static str, nodes: usize, redis_proxy: bool) -> Self {
        let started = Instant::now();
        let redis = tokio::task::spawn_blocking(RedisServer::start)
            .await
            .expect("redis starts");
        let redis_proxy = match redis_proxy {
            true => {
                let port = redis.url().rsplit(':').next().expect("a port").to_string();
                let addr = format!("127.0.0.1:{port}").parse().expect("redis addr");
                Some(Proxy::start(addr).await)
            }
            false => None,
        };
        let redis_url = match &redis_proxy {
            Some(proxy) => format!("redis://{}", proxy.addr()),
            None => redis.url(),
        };
        let config = NodeConfig {
            bin: env!("CARGO_BIN_EXE_rtm-test-server").into(),
            redis_url,
            ttl_ms: TTL_MS,
            reaper_ms: REAPER_MS,
            grace_ms: GRACE_MS,
            shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS,
        };
        let names: Vec<String> = (0..nodes)
            .map(|n| format!("{name}-{}", char::from(b'a' + n as u8)))
            .collect();
        let nodes =
            futures_util::future::join_all(names.iter().map(|n| Node::start(&config, n))).await;
        let balancer = Balancer::start(nodes.iter().map(Node::addr).collect()).await;
        let fleet = Fleet::start(
            FleetConfig {
                rooms: ROOMS,
                per_room: PER_ROOM,
                heartbeat_ms: HEARTBEAT_MS,
                reconnect_initial_ms: 200,
                reconnect_max_ms: 1_000,
            },
            name,
            balancer.addr(),
        )
        .await;
        let settled = fleet.settle(Instant::now() + Duration::from_secs(15)).await;
        assert!(
            settled,
            "{name}: the views did not settle: {:?}",
            fleet.view_mismatches()
        );
        let spread: Vec<usize> = nodes
            .iter()
            .map(|n| balancer.connections_to(n.addr()))
            .collect();
        assert_eq!(
            spread,
            vec![CLIENTS / nodes.len(); nodes.len()],
            "{name}: round robin spreads the clients over the nodes"
        );
        fleet.watch();
        eprintln!(
            "[{name}] set up in {} ms: redis, {} nodes, {CLIENTS} clients in {ROOMS} rooms",
            started.elapsed().as_millis(),
            nodes.len()
        );
        Self {
            name,
            started,
            fleet,
            balancer,
            nodes,
            node_config: config,
            redis_proxy,
            redis: Some(redis),
            failures: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn redis(&self) -> &RedisServer {
        self.redis.as_ref().expect("redis is up")
    }

    /// Records a failure when `problems` is not empty.
    fn check(&mut self, what: &str, problems: Vec<String>) {
        if problems.is_empty() {
            return;
        }
        let mut text = format!("{what}: {} times", problems.len());
        for p in problems.iter().take(8) {
            text.push_str("\n      ");
            text.push_str(p);
        }
        if problems.len() > 8 {
            text.push_str("\n      ...");
        }
        self.failures.push(text);
    }

    /// Records a failure unless `ok`.
    fn expect(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.failures.push(what.into());
        }
    }

    fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("[{}] {note}", self.name);
        self.notes.push(note);
    }

    /// The end state: every view equals the truth (waiting up to `within` for it), as does the
    /// server's snapshot on `node`; no stale_epoch, no view of a stranger, no `bus delivery`
    /// warning on any node.
    /// After a fault at `from` that every client should have resumed through: watches past the
    /// grace (an entry not resumed would leave by then), then checks that nobody flapped, was
    /// seen leaving or twice, or came back under another connection id.
    async fn check_resumed_unseen(&mut self, from: Duration) {
        self.fleet
            .observe_until(from + ms(GRACE_MS + REAPER_MS) + SLACK)
            .await;
        self.check("flaps", self.fleet.flaps());
        self.check(
            "leaves of users who never left",
            self.fleet.phantom_leaves(),
        );
        self.check(
            "users shown with a second connection",
            self.fleet.doubles_after(from),
        );
        self.check(
            "users whose entry was replaced, not resumed (connection id changed)",
            self.fleet.conn_ids_changed(),
        );
    }

    async fn check_end_state(&mut self, node: usize, within: Duration) {
        let settled = self.fleet.settle(Instant::now() + within).await;
        if !settled {
            let mismatches = self.fleet.view_mismatches();
            self.check("views differ from the truth at the end", mismatches);
        }
        let url = self.nodes[node].url();
        let server = self.fleet.server_mismatches(&url).await;
        self.check(
            "the server's snapshots differ from the truth at the end",
            server,
        );
        let stale = self.fleet.errors_with_code("stale_epoch");
        self.check("stale_epoch in a client's log", stale);
        let strangers = self.fleet.strangers();
        self.check("views showing users of another room", strangers);
        for n in 0..self.nodes.len() {
            let warnings = self.nodes[n].delivery_warnings();
            let what = format!("WARN bus delivery on node {}", self.nodes[n].name());
            self.check(&what, warnings);
        }
    }

    /// No WARN or ERROR at all on node `n`, except lines mentioning one of `allowed`.
    fn check_no_warnings(&mut self, n: usize, allowed: &[&str]) {
        let warnings = self.nodes[n].warnings_except(allowed);
        let what = format!("warnings logged by node {}", self.nodes[n].name());
        self.check(&what, warnings);
    }

    /// Prints the summary; fails with every failure found.
    fn finish(self) {
        let took = self.started.elapsed();
        let counts = self.fleet.log_counts();
        for node in &self.nodes {
            if std::env::var_os("RTM_FAULTS_LOGS").is_some() {
                for line in node.logs() {
                    eprintln!("[{}] {}: {line}", self.name, node.name());
                }
            }
            let warnings = node.warnings_except(&[]);
            eprintln!(
                "[{}] node {} logged {} lines, {} at WARN/ERROR{}",
                self.name,
                node.name(),
                node.logs().len(),
                warnings.len(),
                warnings
                    .first()
                    .map(|w| format!(", the first: {w}"))
                    .unwrap_or_default()
            );
        }
        eprintln!(
            "[{}] {} in {} ms; client log: {counts:?}",
            self.name,
            if self.failures.is_empty() {
                "passed"
            } else {
                "FAILED"
            },
            took.as_millis()
        );
        if !self.failures.is_empty() {
            panic!(
                "{}: {} failures\n  - {}\n(notes: {})",
                self.name,
                self.failures.len(),
                self.failures.join("\n  - "),
                self.notes.join("; ")
            );
        }
    }
}

/// A rolling deploy: SIGTERM to one node. Its clients move to the other node and resume there,
/// unseen by everyone; the node exits once they are gone, well before its shutdown timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_of_a_node_moves_its_clients_without_a_flap() {
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("sigterm").await;
    let (a, b) = (env.nodes[0].addr(), env.nodes[1].addr());

    let t_term = env.fleet.now();
    let term_at = Instant::now();
    env.nodes[0].terminate();
    let exit = env.nodes[0]
        .wait_exit(ms(SHUTDOWN_TIMEOUT_MS) + Duration::from_secs(3))
        .await;
    let exited_after = term_at.elapsed();
    env.note(format!(
        "node a exited {} ms after SIGTERM ({exit:?})",
        exited_after.as_millis()
    ));
    env.expect(
        exit.is_some_and(|s| s.success()),
        format!("node a did not exit cleanly after SIGTERM: {exit:?}"),
    );
    env.expect(
        exited_after < ms(SHUTDOWN_TIMEOUT_MS),
        format!(
            "node a exited {} ms after SIGTERM, not before its shutdown timeout ({SHUTDOWN_TIMEOUT_MS} ms)",
            exited_after.as_millis()
        ),
    );

    let balancer = &env.balancer;
    let fleet = &env.fleet;
    let moved = until(Instant::now() + Duration::from_secs(10), || {
        balancer.connections_to(a) == 0
            && balancer.connections_to(b) == CLIENTS
            && fleet.view_mismatches().is_empty()
    })
    .await;
    let spread = env.balancer.connections();
    env.expect(
        moved,
        format!("the clients did not all end up on node b: connections per node {spread:?}"),
    );

    env.check_resumed_unseen(t_term).await;
    env.check_end_state(1, Duration::from_secs(2)).await;
    env.check_no_warnings(1, &[]);
    env.check_no_warnings(0, &["drain", "shut"]);
    env.finish();
}

/// A single node restarted (SIGTERM, then a new process on the same Redis): its clients wait
/// for the new process and resume there within the grace, unseen by one another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_restart_is_unseen() {
    let _serial = SERIAL.lock().await;
    let mut env = Env::start_with("restart-node", 1, false).await;

    let t_term = env.fleet.now();
    env.nodes[0].terminate();
    let exit = env.nodes[0]
        .wait_exit(ms(SHUTDOWN_TIMEOUT_MS) + Duration::from_secs(3))
        .await;
    let t_exit = env.fleet.now();
    env.expect(
        exit.is_some_and(|s| s.success()) && t_exit - t_term < ms(SHUTDOWN_TIMEOUT_MS),
        format!(
            "the node did not exit cleanly before its shutdown timeout: {exit:?} after {} ms",
            (t_exit - t_term).as_millis()
        ),
    );
    let replacement = Node::start(&env.node_config, "restart-node-a2").await;
    env.balancer.set_upstreams(vec![replacement.addr()]);
    let new_addr = replacement.addr();
    env.nodes.push(replacement);
    let t_up = env.fleet.now();
    env.note(format!(
        "the old process exited {} ms after SIGTERM, the new one listened {} ms after that",
        (t_exit - t_term).as_millis(),
        (t_up - t_exit).as_millis()
    ));
    let balancer = &env.balancer;
    let fleet = &env.fleet;
    let moved = until(Instant::now() + Duration::from_secs(10), || {
        balancer.connections_to(new_addr) == CLIENTS && fleet.view_mismatches().is_empty()
    })
    .await;
    env.expect(
        moved,
        format!(
            "the clients did not all come back to the new process: {:?}",
            env.balancer.connections()
        ),
    );
    env.check_resumed_unseen(t_term).await;
    env.check_end_state(1, Duration::from_secs(2)).await;
    env.check_no_warnings(1, &[]);
    env.check_no_warnings(0, &["drain", "shut"]);
    env.finish();
}

/// Every TCP connection cut at once at the balancer (a reload, a network blip): the clients
/// reconnect and resume within the grace, nobody is seen leaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_every_connection_at_the_balancer_is_not_a_flap() {
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("cut").await;

    let t_cut = env.fleet.now();
    env.balancer.cut_all();
    let balancer = &env.balancer;
    let fleet = &env.fleet;
    let back = until(Instant::now() + Duration::from_secs(10), || {
        fleet.not_reconnected_since(t_cut).is_empty()
            && balancer.connections().values().sum::<usize>() == CLIENTS
            && fleet.view_mismatches().is_empty()
    })
    .await;
    if !back {
        let missing = env.fleet.not_reconnected_since(t_cut);
        env.check("clients not back after the cut", missing);
    }
    env.note(format!(
        "every client back and every view true {} ms after the cut: {back}",
        (env.fleet.now() - t_cut).as_millis()
    ));
    env.check_resumed_unseen(t_cut).await;
    env.check_end_state(0, Duration::from_secs(2)).await;
    env.check_no_warnings(0, &[]);
    env.check_no_warnings(1, &[]);
    env.finish();
}

/// A node killed (SIGKILL): its clients reconnect to the other node and take their entries
/// over, so no user is shown with a second, dead connection (beyond a moment), and nobody is
/// seen leaving when the dead entries' TTL runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_leaves_no_dead_second_connection() {
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("kill").await;
    let (a, b) = (env.nodes[0].addr(), env.nodes[1].addr());

    let t_kill = env.fleet.now();
    env.nodes[0].kill();
    let exit = env.nodes[0].wait_exit(Duration::from_secs(5)).await;
    env.expect(exit.is_some(), "node a did not die on SIGKILL");
    let balancer = &env.balancer;
    let fleet = &env.fleet;
    let moved = until(Instant::now() + Duration::from_secs(10), || {
        balancer.connections_to(a) == 0 && balancer.connections_to(b) == CLIENTS
    })
    .await;
    env.note(format!(
        "every client on node b {} ms after the kill: {moved}",
        (fleet.now() - t_kill).as_millis()
    ));
    // Past the TTL: a dead entry left behind would expire (and be announced) by now.
    env.fleet
        .observe_until(t_kill + ms(TTL_MS + REAPER_MS) + SLACK)
        .await;
    env.check(
        "users shown with a second (dead) connection more than 1 s after the kill",
        env.fleet.doubles_after(t_kill + ms(1_000)),
    );
    env.check("flaps", env.fleet.flaps());
    env.check("leaves of users who never left", env.fleet.phantom_leaves());
    env.check(
        "users whose entry was replaced, not resumed (connection id changed)",
        env.fleet.conn_ids_changed(),
    );
    env.check_end_state(1, Duration::from_secs(2)).await;
    env.check_no_warnings(1, &[]);
    env.finish();
}

/// Redis frozen (SIGSTOP) for less than the TTL: the stall does not count against connections
/// that kept heartbeating, so nobody expires when it resumes (nor one TTL later, when reaping
/// starts again).
///
/// The freeze is longer than TTL - heartbeat interval, so every connection's deadline falls
/// within it or just after it: without the fix, a reaper call queued in Redis behind the freeze
/// expires those whose (also queued) heartbeat runs after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_freeze_shorter_than_the_ttl_expires_no_live_member() {
    const FREEZE_MS: u64 = 2_800;
    let _serial = SERIAL.lock().await;
    let env = Env::start("freeze").await;

    let t_freeze = env.fleet.now();
    env.redis().pause();
    // The fault lasts this long (the watcher samples meanwhile).
    tokio::time::sleep(ms(FREEZE_MS)).await;
    env.redis().resume();
    let t_resume = env.fleet.now();
    check_outage_expired_nobody(env, "frozen", t_freeze, t_resume).await;
}

/// After the store was out (`what`) from `from` to `back`, for less than the TTL: watches until
/// reaping has resumed (one TTL after the outage at the latest), then checks that no live member
/// expired, was shown leaving, or was shown twice.
async fn check_outage_expired_nobody(mut env: Env, what: &str, from: Duration, back: Duration) {
    env.note(format!(
        "redis {what} from {:.3}s to {:.3}s",
        from.as_secs_f64(),
        back.as_secs_f64()
    ));
    env.fleet
        .observe_until(back + ms(TTL_MS + REAPER_MS) + SLACK)
        .await;
    env.check("flaps (live members expired)", env.fleet.flaps());
    env.check("leaves of users who never left", env.fleet.phantom_leaves());
    env.check(
        "users shown with a second connection",
        env.fleet.doubles_after(from),
    );
    env.check_end_state(0, Duration::from_secs(2)).await;
    env.finish();
}

/// The store unreachable for less than the TTL (a network partition between the nodes and
/// Redis: every byte swallowed, nothing answered, then the connections are dropped and made
/// again): no live member expires when it is back, nor one TTL later.
///
/// Unlike a SIGSTOP, the heartbeats sent meanwhile never reach Redis, so without the fix every
/// connection whose deadline fell in the outage expires at the first reaper run after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_partition_shorter_than_the_ttl_expires_no_live_member() {
    const PARTITION_MS: u64 = 2_800;
    let _serial = SERIAL.lock().await;
    let env = Env::start_with("partition", 2, true).await;

    let t_cut = env.fleet.now();
    let proxy = env.redis_proxy.as_ref().expect("a redis proxy");
    proxy.freeze();
    // The fault lasts this long (the watcher samples meanwhile).
    tokio::time::sleep(ms(PARTITION_MS)).await;
    proxy.thaw();
    let t_back = env.fleet.now();
    check_outage_expired_nobody(env, "unreachable", t_cut, t_back).await;
}

/// Redis restarted empty (every key lost): the clients join again, epochs keep growing, and
/// every view equals the truth within about a heartbeat interval of Redis being back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_that_loses_every_key_heals_every_view() {
    const DOWN_MS: u64 = 1_000;
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("restart").await;
    let epoch_before = env.fleet.max_epoch_in_views();

    let mut redis = env.redis.take().expect("redis is up");
    let t_down = env.fleet.now();
    let redis = tokio::task::spawn_blocking(move || {
        redis.restart_empty(ms(DOWN_MS));
        redis
    })
    .await
    .expect("redis restarts");
    env.redis = Some(redis);
    let t_back = env.fleet.now();
    env.note(format!(
        "redis down at {:.3}s, back (empty) at {:.3}s",
        t_down.as_secs_f64(),
        t_back.as_secs_f64()
    ));

    // Within about a heartbeat: the clients learn their entries are gone (their next heartbeat),
    // join again, and every view heals (the next heartbeat's digest). Healed means: the views
    // equal the truth and both nodes' snapshots (the views alone still show the lost entries).
    let bound = ms(2 * HEARTBEAT_MS) + SLACK + ms(500);
    let deadline = Instant::now() + bound;
    let healed = loop {
        if env.fleet.view_mismatches().is_empty()
            && env
                .fleet
                .server_mismatches(&env.nodes[0].url())
                .await
                .is_empty()
            && env
                .fleet
                .server_mismatches(&env.nodes[1].url())
                .await
                .is_empty()
        {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(ms(20)).await;
    };
    let healed_after = env.fleet.now() - t_back;
    env.note(format!(
        "views and snapshots equal the truth {} ms after redis is back: {healed}",
        healed_after.as_millis()
    ));
    if !healed {
        let mut problems = env.fleet.view_mismatches();
        problems.extend(env.fleet.server_mismatches(&env.nodes[0].url()).await);
        let what = format!(
            "views or snapshots not equal to the truth {} ms after redis is back",
            bound.as_millis()
        );
        env.check(&what, problems);
    }
    env.fleet.observe_until(t_back + bound + SLACK).await;
    env.check_end_state(0, Duration::from_secs(2)).await;
    let conns = env.fleet.conn_ids();
    env.check(
        "views differing from the truth after the bound",
        env.fleet.mismatches_after(t_back + bound, &conns),
    );
    let epoch_after = env.fleet.min_epoch_in_views();
    env.expect(
        epoch_after > epoch_before,
        format!(
            "epochs went backwards: before the restart up to {epoch_before}, after it from {epoch_after}"
        ),
    );
    env.finish();
}

/// Leaves published while the nodes' bus subscriptions are down are lost on the bus; every view
/// still drops the departed users within about a heartbeat interval, without waiting for the
/// bus to come back.
///
/// The gap: Redis's `maxclients` is lowered to the connections it has, then the subscriber
/// connections (those with channels) are killed, so they cannot connect again while the nodes'
/// command connections keep working; after GAP_MS the limit is lifted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_lost_in_a_bus_gap_disappear_within_a_heartbeat() {
    const GAP_MS: u64 = 3_000;
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("bus-gap").await;

    let url = env.redis().url();
    let t_gap = env.fleet.now();
    let opened = tokio::task::spawn_blocking(move || BusGap::open(&url))
        .await
        .expect("open the gap");
    env.expect(
        opened.killed >= 2,
        format!(
            "harness: expected both nodes' subscriber connections to be killed, killed {}",
            opened.killed
        ),
    );
    tokio::time::sleep(ms(300)).await;
    // One user per room leaves, two ways, while the bus is down.
    let t_leave = env.fleet.now();
    tokio::join!(
        env.fleet.leave(0),
        env.fleet.leave(1),
        env.fleet.disconnect(2),
        env.fleet.disconnect(3)
    );
    env.fleet.observe_until(t_gap + ms(GAP_MS)).await;
    let still_down = tokio::task::spawn_blocking(move || opened.close())
        .await
        .expect("close the gap");
    let t_gap_end = env.fleet.now();
    env.note(format!(
        "bus gap {:.3}s to {:.3}s (subscriber connections at its end: {still_down}), leaves at {:.3}s",
        t_gap.as_secs_f64(),
        t_gap_end.as_secs_f64(),
        t_leave.as_secs_f64()
    ));
    env.expect(
        still_down == 0,
        format!("harness: {still_down} subscriber connections came back during the gap"),
    );

    // Bounded from the leave itself: a view heals within a heartbeat, bus or no bus.
    let bound = ms(2 * HEARTBEAT_MS) + SLACK;
    env.fleet.observe_until(t_gap_end + SLACK).await;
    env.check(
        "departed users still shown (bound: two heartbeats + slack after the leave)",
        env.fleet.ghosts(bound, bound),
    );
    for u in 0..4 {
        let gone = env.fleet.gone_after(u);
        env.note(format!("u{u} gone from every view after {gone:?}"));
    }
    // Each departure has 4 observers: the leave events not seen were lost on the bus (and the
    // views healed without them).
    let leaves = env.fleet.presence_events_seen(PresenceEventType::Leave);
    env.note(format!(
        "{leaves} of 16 leave events reached the views, {} were lost in the gap",
        16usize.saturating_sub(leaves)
    ));
    env.check("flaps", env.fleet.flaps());
    env.check("leaves of users who never left", env.fleet.phantom_leaves());
    env.check_end_state(0, Duration::from_secs(2)).await;
    env.finish();
}

/// Departures: an explicit `leave()` or `disconnect()` is gone from every view at once; a client
/// whose network went (no leave, no DISCONNECT) stays for the grace, then goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_leaves_go_at_once_lost_connections_after_the_grace() {
    let _serial = SERIAL.lock().await;
    let mut env = Env::start("departures").await;

    let t_dep = env.fleet.now();
    env.fleet.lose(2);
    env.fleet.lose(3);
    tokio::join!(env.fleet.leave(0), env.fleet.disconnect(1));

    let lost_bound = ms(GRACE_MS + REAPER_MS) + SLACK;
    env.fleet.observe_until(t_dep + lost_bound + SLACK).await;
    for u in 0..4 {
        let gone = env.fleet.gone_after(u);
        env.note(format!("u{u} gone from every view after {gone:?}"));
    }
    env.check(
        "departed users still shown (explicit: 1 s; lost: grace + reaper interval + 1 s)",
        env.fleet.ghosts(AT_ONCE, lost_bound),
    );
    // A lost connection is kept for the grace (less the sampling period, which can only make
    // the drop look later, and a little scheduling).
    env.check(
        "lost users dropped before the grace",
        env.fleet.early_departures(ms(GRACE_MS - 100)),
    );
    env.check("flaps", env.fleet.flaps());
    env.check("leaves of users who never left", env.fleet.phantom_leaves());
    env.check(
        "users shown with a second connection",
        env.fleet.doubles_after(t_dep),
    );
    env.check_end_state(0, Duration::from_secs(2)).await;
    env.check_no_warnings(0, &[]);
    env.check_no_warnings(1, &[]);
    env.finish();
}

/// A gap in the nodes' bus subscriptions, made on Redis itself.
struct BusGap {
    /// Subscriber connections killed.
    killed: usize,
    /// `maxclients` before.
    maxclients: String,
    /// The connection that made the gap, kept to close it (no new one can be made meanwhile).
    conn: redis::Connection,
}

impl BusGap {
    /// Lowers `maxclients` to the connections Redis has (so none can be made), then kills
    /// every connection with subscriptions (`sub`, `psub` or `ssub` in CLIENT LIST).
    fn open(url: &str) -> Self {
        let mut conn = redis_conn(url);
        let maxclients: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxclients")
            .query(&mut conn)
            .expect("CONFIG GET maxclients");
        let maxclients = maxclients.get(1).cloned().unwrap_or_else(|| "10000".into());
        let (all, subscribers) = client_list(&mut conn);
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxclients")
            .arg(all - subscribers.len())
            .query(&mut conn)
            .expect("CONFIG SET maxclients");
        let mut killed = 0;
        for id in subscribers {
            let n: redis::RedisResult<u64> = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(&id)
                .query(&mut conn);
            killed += n.unwrap_or(0) as usize;
        }
        Self {
            killed,
            maxclients,
            conn,
        }
    }

    /// Lifts the limit again; returns how many subscriber connections there were just before.
    fn close(mut self) -> usize {
        let conn = &mut self.conn;
        let (_, subscribers) = client_list(conn);
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxclients")
            .arg(&self.maxclients)
            .query(conn)
            .expect("CONFIG SET maxclients");
        subscribers.len()
    }
}

/// A plain connection to the test's Redis (blocking).
fn redis_conn(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connect to the test redis")
}

/// (connections, ids of those with subscriptions) from CLIENT LIST.
fn client_list(conn: &mut redis::Connection) -> (usize, Vec<String>) {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(conn)
        .expect("CLIENT LIST");
    let subscribed = |line: &&str| {
        line.split(' ').any(|field| {
            ["sub=", "psub=", "ssub="].iter().any(|key| {
                field
                    .strip_prefix(key)
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    };
    let ids = list
        .lines()
        .filter(subscribed)
        .filter_map(|line| {
            line.split(' ')
                .find_map(|f| f.strip_prefix("id="))
                .map(str::to_string)
        })
        .collect();
    (list.lines().count(), ids)
}
