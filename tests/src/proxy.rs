//! A TCP proxy on 127.0.0.1 that can cut the network under a client without closing anything:
//! while frozen, bytes are swallowed in both directions and the sockets stay open, as when a
//! cable is pulled. Thawing drops the frozen connections and forwards new ones again.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy.
pub struct Proxy {
    addr: SocketAddr,
    /// (generation, frozen): a thaw bumps the generation, which ends older connections.
    control: watch::Sender<(u64, bool)>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Forwards a new local port to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (control, rx) = watch::channel((0u64, false));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rx = rx.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        pipe(client, server, rx).await;
                    }
                });
            }
        });
        Self {
            addr,
            control,
            task,
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts the network: nothing passes, nothing closes.
    pub fn freeze(&self) {
        self.control.send_modify(|(_, frozen)| *frozen = true);
    }

    /// Restores it: frozen connections are dropped, new ones pass.
    pub fn thaw(&self) {
        self.control.send_modify(|(generation, frozen)| {
            *generation += 1;
            *frozen = false;
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    mut client: TcpStream,
    mut server: TcpStream,
    mut control: watch::Receiver<(u64, bool)>,
) {
    let generation = control.borrow().0;
    let (mut a, mut b) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        let (current, frozen) = *control.borrow();
        if current != generation {
            return;
        }
        tokio::select! {
            n = client.read(&mut a) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) if !frozen => if server.write_all(&a[..n]).await.is_err() { return },
                Ok(_) => {}
            },
            n = server.read(&mut b) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) if !frozen => if client.write_all(&b[..n]).await.is_err() { return },
                Ok(_) => {}
            },
            changed = control.changed() => if changed.is_err() { return },
        }
    }
}
