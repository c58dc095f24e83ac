//! Connections per client address: a cap (`--max-connections-per-ip`, off by default), and the
//! address itself. Behind a reverse proxy every connection comes from the proxy; only when the
//! peer is one of `--trusted-proxy` is `X-Forwarded-For` believed, and then its rightmost address
//! that is not itself a trusted proxy is the client's (each proxy appends the address it saw).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

/// Open connections by client address, within a cap.
#[derive(Debug)]
pub(crate) struct ConnectionsPerIp {
    max: usize,
    trusted: Vec<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One counted connection; dropping it (on disconnect) releases its place.
#[derive(Debug)]
pub(crate) struct Counted {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnectionsPerIp {
    /// At most `max` connections per address (0: no cap), with these proxies trusted.
    pub(crate) fn new(max: usize, trusted: Vec<IpAddr>) -> Self {
        Self {
            max,
            trusted,
            open: Arc::default(),
        }
    }

    /// Counts a connection from the request `head`; `None` when its address is at the cap. Without
    /// a cap, nothing is counted (`Some` with nothing to release).
    pub(crate) fn admit(&self, head: &Parts) -> Option<Option<Counted>> {
        if self.max == 0 {
            return Some(None);
        }
        let ip = client_ip(head, &self.trusted)?;
        let mut open = self.open.lock().expect("connections lock");
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Some(Counted {
            ip,
            open: self.open.clone(),
        }))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("connections lock");
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The client's address: the peer's, or from `X-Forwarded-For` when the peer is trusted.
fn client_ip(head: &Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = head.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let forwarded: Vec<&str> = head
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(client_ip_from(peer, &forwarded, trusted))
}

/// The client's address from the `peer`'s and the `X-Forwarded-For` header values.
pub(crate) fn client_ip_from(
    peer: IpAddr,
    forwarded: &[impl AsRef<str>],
    trusted: &[IpAddr],
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded
        .iter()
        .flat_map(|v| v.as_ref().split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn head(peer: &str, forwarded: &[&str]) -> Parts {
        let mut request = Request::builder();
        for f in forwarded {
            request = request.header("x-forwarded-for", *f);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(
            format!("{peer}:1234").parse::<SocketAddr>().unwrap(),
        ));
        parts
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = vec![ip("127.0.0.1")];
        let spoofed = head("198.51.100.9", &["203.0.113.1"]);
        assert_eq!(client_ip(&spoofed, &proxy), Some(ip("198.51.100.9")));
        let proxied = head("127.0.0.1", &["203.0.113.1, 198.51.100.2"]);
        assert_eq!(
            client_ip(&proxied, &proxy),
            Some(ip("198.51.100.2")),
            "the rightmost"
        );
        let chain = head("127.0.0.1", &["203.0.113.1", "127.0.0.1"]);
        assert_eq!(
            client_ip(&chain, &proxy),
            Some(ip("203.0.113.1")),
            "skipping proxies"
        );
        let garbage = head("127.0.0.1", &["not an address"]);
        assert_eq!(client_ip(&garbage, &proxy), Some(ip("127.0.0.1")));
    }

    #[test]
    fn the_cap_counts_and_releases() {
        let limits = ConnectionsPerIp::new(2, Vec::new());
        let a = limits.admit(&head("198.51.100.9", &[])).unwrap();
        let b = limits.admit(&head("198.51.100.9", &[])).unwrap();
        assert!(
            limits.admit(&head("198.51.100.9", &[])).is_none(),
            "at the cap"
        );
        assert!(
            limits.admit(&head("198.51.100.10", &[])).is_some(),
            "another address"
        );
        drop(a);
        assert!(
            limits.admit(&head("198.51.100.9", &[])).is_some(),
            "released"
        );
        drop(b);
        assert!(
            limits
                .open
                .lock()
                .unwrap()
                .get(&ip("198.51.100.10"))
                .is_none()
        );
    }
}
