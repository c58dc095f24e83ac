//! A round-robin TCP balancer on 127.0.0.1, as in front of a fleet of nodes: each new connection
//! goes to the next upstream that accepts it (an upstream whose connect fails, a draining or dead
//! node, is skipped). It can cut every proxied connection at once, both sides closed with no
//! Socket.IO DISCONNECT (a balancer reload, a network blip), and it can close for good (a client
//! whose network is gone and does not come back).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long the balancer waits for an upstream's TCP connect before it tries the next one.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A running balancer; it stops (and closes what it proxies) on drop.
pub struct Balancer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    upstreams: Mutex<Vec<SocketAddr>>,
    next: AtomicUsize,
    /// Bumped by [`Balancer::cut_all`]: connections proxied under an older value end.
    cut: watch::Sender<u64>,
    /// Live proxied connections per upstream.
    live: Mutex<HashMap<SocketAddr, usize>>,
}

impl Balancer {
    /// Listens on a free 127.0.0.1 port and spreads new connections over `upstreams`.
    pub async fn start(upstreams: Vec<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the balancer");
        let addr = listener.local_addr().expect("balancer addr");
        let shared = Arc::new(Shared {
            upstreams: Mutex::new(upstreams),
            next: AtomicUsize::new(0),
            cut: watch::channel(0).0,
            live: Mutex::new(HashMap::new()),
        });
        let accepting = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                tokio::spawn(Arc::clone(&accepting).proxy(client));
            }
        });
        Self {
            addr,
            shared,
            accept: Mutex::new(Some(accept)),
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients use, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the upstreams (for connections made from now on).
    pub fn set_upstreams(&self, upstreams: Vec<SocketAddr>) {
        *self.shared.upstreams.lock().expect("upstreams lock") = upstreams;
    }

    /// Closes every proxied connection at once, both sides (an abrupt transport loss for the
    /// client and for the node). New connections are proxied as before.
    pub fn cut_all(&self) {
        self.shared.cut.send_modify(|generation| *generation += 1);
    }

    /// Closes for good: cuts every connection and accepts no new one (connects are refused).
    pub fn close(&self) {
        if let Some(accept) = self.accept.lock().expect("accept lock").take() {
            accept.abort();
        }
        self.cut_all();
    }

    /// Live proxied connections per upstream (upstreams with none are absent).
    pub fn connections(&self) -> HashMap<SocketAddr, usize> {
        let live = self.shared.live.lock().expect("live lock");
        live.iter()
            .filter(|(_, n)| **n > 0)
            .map(|(a, n)| (*a, *n))
            .collect()
    }

    /// Live proxied connections to `upstream`.
    pub fn connections_to(&self, upstream: SocketAddr) -> usize {
        self.connections().get(&upstream).copied().unwrap_or(0)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    /// Connects `client` to the next upstream that accepts, and pipes until either side closes
    /// or the connections are cut.
    async fn proxy(self: Arc<Self>, mut client: TcpStream) {
        let mut cut = self.cut.subscribe();
        let generation = *cut.borrow_and_update();
        let Some((upstream, mut server)) = self.connect_upstream().await else {
            return; // no upstream accepts: the client's connection is closed
        };
        *self
            .live
            .lock()
            .expect("live lock")
            .entry(upstream)
            .or_default() += 1;
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
            _ = cut.wait_for(|g| *g != generation) => {}
        }
        // Both streams drop here: each side sees its connection closed.
        *self
            .live
            .lock()
            .expect("live lock")
            .entry(upstream)
            .or_default() -= 1;
    }

    /// Round robin over the upstreams, skipping those whose connect fails.
    async fn connect_upstream(&self) -> Option<(SocketAddr, TcpStream)> {
        let upstreams = self.upstreams.lock().expect("upstreams lock").clone();
        for _ in 0..upstreams.len() {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % upstreams.len();
            let upstream = upstreams[i];
            let connect = TcpStream::connect(upstream);
            if let Ok(Ok(server)) = tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, connect).await {
                let _ = server.set_nodelay(true);
                return Some((upstream, server));
            }
        }
        None
    }
}
