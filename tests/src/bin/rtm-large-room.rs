//! `rtm-large-room`: the large-room load test of an rtm server (`--scenario meeting|audience`,
//! see `rtm_tests::bench::large_room`). Prints the figures against their targets, or the report
//! as JSON with `--json`; exits non-zero with `--strict` when a target was missed.
//!
//! Each member is a socket: the process needs an open-files limit above the connections it
//! opens (`ulimit -n`; `scripts/bench.sh` raises it to the hard limit). It checks before it
//! starts.

use clap::Parser;
use rtm_tests::bench::large_room::{self, Report};
use rtm_tests::bench::stats::Summary;

#[derive(Parser)]
#[command(
    name = "rtm-large-room",
    about = "Load test for an rtm server: one large room (a meeting, or an audience)."
)]
struct Cli {
    #[command(flatten)]
    options: large_room::Options,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Exit non-zero when a target was missed.
    #[arg(long)]
    strict: bool,
}

/// File descriptors the process needs besides its sockets.
const SPARE_FILES: u64 = 64;

// One thread, as rtm-bench: the generator shares the machine with the server.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse();
    cli.options.quiet |= cli.json;
    let needed = cli.options.connections() as u64 + SPARE_FILES;
    if let Some(limit) = open_files_limit()
        && limit < needed
    {
        eprintln!(
            "rtm-large-room: {} connections need an open-files limit of at least {needed}, \
             this process has {limit}: raise it (ulimit -n {needed})",
            cli.options.connections()
        );
        return std::process::ExitCode::FAILURE;
    }
    let report = large_room::run(&cli.options).await;
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serializes")
        );
    } else {
        print_report(&report);
    }
    if cli.strict && report.missed().next().is_some() {
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

/// The soft limit on open files, from /proc (Linux); `None` elsewhere or when unlimited.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn print_report(r: &Report) {
    let line = |name: &str, s: &Summary| {
        println!(
            "{name:<14} n={:<8} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
            s.count, s.p50_ms, s.p99_ms, s.max_ms
        )
    };
    println!(
        "{:?}: {} members asked, {} connections joined room {}",
        r.scenario, r.members, r.joined, r.room_id
    );
    line("join", &r.join);
    line("heartbeater", &r.heartbeater);
    if let Some(fanout) = &r.fanout {
        line("update fan-out", fanout);
    }
    if let Some(leave) = &r.leave {
        line("leave", leave);
    }
    if let Some(d) = &r.deliveries {
        println!(
            "updates: {} received of {} expected ({} missing, {} duplicate)",
            d.received, d.expected, d.missing, d.duplicate
        );
    }
    if let (Some(before), Some(after)) = (r.rss_before_mb, r.rss_after_mb) {
        println!("server RSS: {before:.1} MB before the audience, {after:.1} MB after");
    }
    println!("errors: {:?}, timeouts: {}", r.errors, r.timeouts);
    println!();
    for check in &r.checks {
        let measured = check
            .measured
            .map_or("never".to_string(), |m| format!("{m:.1} {}", check.unit));
        let verdict = match check.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        println!(
            "{:<58} {:>14}  {:<12} {verdict}",
            check.what, measured, check.target
        );
    }
}
