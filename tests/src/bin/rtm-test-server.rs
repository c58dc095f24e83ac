//! `rtm-test-server`: `rtm-server` (the same flags) with one module more, [`rtm_tests::Silent`],
//! whose event `test:silent` is never answered. The package tests (`scripts/test-package.sh`)
//! run the browser SDK's request timeouts against it. For tests only.

use clap::Parser;
use rtm_server::{Config, RealtimeServer};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let server = RealtimeServer::with_default_modules(Config::parse())
        .module(rtm_tests::Silent)
        .bind()
        .await;
    match server {
        Ok(server) => {
            println!("rtm-test-server listening on {}", server.local_addr());
            server
                .run_until(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("rtm-test-server could not start: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
