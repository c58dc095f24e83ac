//! A short run of the load-test tool against a real server: it works and reports no errors and no
//! missing events. Timing belongs to `scripts/bench.sh`, not here.

use rtm_tests::bench::{self, Options};
use rtm_tests::{RedisServer, Store, TestServer};

fn smoke(url: String) -> Options {
    Options {
        target_url: url,
        room_count: 4,
        users_per_room: 3,
        test_duration_ms: 1_500,
        heartbeats_per_sec: 5.0,
        ramp_up_ms: 200,
        ack_timeout_ms: 5_000,
        no_patch: false,
        idle: false,
        server_pid: Some(std::process::id()),
        quiet: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_test_runs_clean_on_redis() {
    let redis = RedisServer::start();
    let server = TestServer::start(&Store::Redis(redis.url()), |_| {}).await;
    let report = bench::run(&smoke(server.url())).await;
    assert_eq!(report.clients, 12);
    assert_eq!(report.join.count, 12);
    // Each join reaches the joiner and everyone before it: 1 + 2 + 3 per room of 3.
    assert_eq!(report.join_fanout.count, 4 * 6, "{report:?}");
    assert!(report.heartbeat.count > 0, "{report:?}");
    assert_eq!(report.error_count(), 0, "{report:?}");
    assert!(report.events_expected > 0);
    assert_eq!(report.events_missing, 0, "{report:?}");
    assert_eq!(report.events_duplicate, 0);
    assert!(report.server_rss_mb.is_some_and(|mb| mb > 1.0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_heartbeats_and_idle_modes_run_clean() {
    let server = TestServer::start(&Store::Memory, |_| {}).await;
    let plain = Options {
        no_patch: true,
        ..smoke(server.url())
    };
    let report = bench::run(&plain).await;
    assert_eq!(report.error_count(), 0, "{report:?}");
    assert!(report.heartbeat.count > 0, "{report:?}");
    assert_eq!(report.events_expected, 0, "plain heartbeats change nothing");
    let idle = Options {
        idle: true,
        ..smoke(server.url())
    };
    let report = bench::run(&idle).await;
    assert_eq!(report.error_count(), 0, "{report:?}");
    assert_eq!(report.join.count, 12);
    server.stop().await;
}
