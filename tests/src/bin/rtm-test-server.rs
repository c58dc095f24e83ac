//! `rtm-test-server`: `rtm-server` (the same flags) with one module more, [`rtm_tests::Silent`],
//! whose event `test:silent` is never answered. The package tests (`scripts/test-package.sh`)
//! run the browser SDK's request timeouts against it, and the fault suite (`tests/tests/faults.rs`)
//! runs it as a node process it can SIGTERM and SIGKILL. For tests only.
//!
//! Like `rtm-server`: logs go to stderr (`RUST_LOG`, default `info`; no colours), and it shuts
//! down gracefully on SIGINT or SIGTERM.

use clap::Parser;
use rtm_server::{Config, RealtimeServer, shutdown_signal};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let server = RealtimeServer::with_default_modules(Config::parse())
        .module(rtm_tests::Silent)
        .bind()
        .await;
    match server {
        Ok(server) => {
            println!("rtm-test-server listening on {}", server.local_addr());
            server.run_until(shutdown_signal()).await;
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("rtm-test-server could not start: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
