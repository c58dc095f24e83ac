//! rtm servers started inside the test process, on 127.0.0.1 and a free port.

use std::net::SocketAddr;

use rtm_server::{Config, RealtimeServer, ServerHandle};
use tokio::net::TcpListener;

/// Which store a test server uses.
#[derive(Debug, Clone)]
pub enum Store {
    /// The in-memory store.
    Memory,
    /// Redis at this URL.
    Redis(String),
}

/// A running server; shut it down with [`TestServer::stop`], or drop it with the runtime.
pub struct TestServer {
    handle: Option<ServerHandle>,
    addr: SocketAddr,
}

impl TestServer {
    /// Starts a server with the default modules on `store`, after `tweak` adjusts the config.
    pub async fn start(store: &Store, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_on("127.0.0.1:0", store, tweak).await
    }

    /// As [`TestServer::start`], on a given address (to restart on the same port).
    pub async fn start_on(addr: &str, store: &Store, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_with(addr, store, tweak, |server| server).await
    }

    /// As [`TestServer::start_on`], with `extend` registering more modules.
    pub async fn start_with(
        addr: &str,
        store: &Store,
        tweak: impl FnOnce(&mut Config),
        extend: impl FnOnce(RealtimeServer) -> RealtimeServer,
    ) -> Self {
        let mut config = Config {
            redis_url: match store {
                Store::Memory => None,
                Store::Redis(url) => Some(url.clone()),
            },
            // Most tests check what a disconnect announces at once, and stop servers with
            // clients still connected; the fault tests set the grace and drain they test.
            presence_grace_ms: 0,
            shutdown_timeout_ms: 200,
            ..Config::default()
        };
        tweak(&mut config);
        let listener = TcpListener::bind(addr).await.expect("bind a test port");
        let handle = extend(RealtimeServer::with_default_modules(config))
            .start(listener)
            .await
            .expect("the server starts");
        let addr = handle.local_addr();
        Self {
            handle: Some(handle),
            addr,
        }
    }

    /// Its base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts it down gracefully.
    pub async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await;
        }
    }
}
