//! The signals that stop a server: what a terminal (Ctrl-C) and a deploy (SIGTERM) send.

/// Resolves on SIGINT (Ctrl-C) or SIGTERM: pass it to [`crate::ServerHandle::run_until`] to
/// drain and stop on either.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
