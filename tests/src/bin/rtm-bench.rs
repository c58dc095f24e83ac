//! `rtm-bench`: the load test of an rtm server. `rtm-bench --help` lists the options (with the
//! TypeScript load test's environment variables); `--json` prints the report for machines. Exits
//! non-zero when errors or missing events exceed the thresholds.

use clap::Parser;
use rtm_tests::bench::{self, Report};

#[derive(Parser)]
#[command(
    name = "rtm-bench",
    about = "Load test for an rtm server: presence heartbeats and their fan-out."
)]
struct Cli {
    #[command(flatten)]
    options: bench::Options,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Fail when more errors than this happened.
    #[arg(long, env = "MAX_ERRORS", default_value_t = 0)]
    max_errors: u64,
    /// Fail when more expected events than this never arrived.
    #[arg(long, env = "MAX_MISSING", default_value_t = 0)]
    max_missing: u64,
}

// One thread: the generator shares the machine with the server and Redis, and a single-threaded
// runtime needs no cross-thread wake-ups (at 10,000 heartbeats/s, p99 fell from 111 to 14 ms).
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse();
    cli.options.quiet |= cli.json;
    let report = bench::run(&cli.options).await;
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serializes")
        );
    } else {
        print_report(&report);
    }
    if report.error_count() > cli.max_errors || report.events_missing > cli.max_missing {
        eprintln!(
            "FAILED: {} errors (max {}), {} missing events (max {})",
            report.error_count(),
            cli.max_errors,
            report.events_missing,
            cli.max_missing
        );
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

fn print_report(r: &Report) {
    let line = |name: &str, s: &bench::stats::Summary| {
        println!(
            "{name:<12} n={:<8} p50 {:>7.2} ms  p90 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms",
            s.count, s.p50_ms, s.p90_ms, s.p95_ms, s.p99_ms, s.max_ms
        )
    };
    println!("clients {} in {} rooms", r.clients, r.rooms);
    line("join", &r.join);
    line("join fan-out", &r.join_fanout);
    line("heartbeat", &r.heartbeat);
    println!(
        "heartbeats/s: {:.0} achieved of {:.0} target",
        r.achieved_heartbeats_per_sec, r.target_heartbeats_per_sec
    );
    println!(
        "presence updates: {} received of {} expected ({} missing, {} duplicate)",
        r.events_received, r.events_expected, r.events_missing, r.events_duplicate
    );
    if r.errors.is_empty() {
        println!("errors: none");
    } else {
        println!("errors: {:?}", r.errors);
    }
    if let Some(rss) = r.server_rss_mb {
        println!("server RSS: {rss:.1} MB");
    }
}
