//! A Redis Cluster of the test's own: three masters (`redis-server --cluster-enabled yes`) on
//! free 127.0.0.1 ports, joined by `redis-cli --cluster create`, without persistence, stopped on
//! drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running private 3-master Redis Cluster.
pub struct RedisCluster {
    nodes: Vec<Child>,
    ports: Vec<u16>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts three nodes, creates the cluster and waits until every slot is served.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "rtm-cluster-{}-{}",
            std::process::id(),
            crate::unique("c")
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut cluster = Self {
            nodes: Vec::new(),
            ports: Vec::new(),
            dir,
        };
        for _ in 0..3 {
            let port = cluster_port();
            let child = Command::new("redis-server")
                .current_dir(&cluster.dir)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server must be installed (make test installs it)");
            cluster.nodes.push(child);
            cluster.ports.push(port);
        }
        for port in &cluster.ports {
            wait_until(*port, "answers", |conn| {
                redis::cmd("PING").query::<String>(conn).is_ok()
            });
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(status.success(), "redis-cli --cluster create failed");
        for port in &cluster.ports {
            wait_until(*port, "serves every slot", |conn| {
                redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query::<String>(conn)
                    .is_ok_and(|info| {
                        info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
                    })
            });
        }
        cluster
    }

    /// Its URL: every node, comma-separated (as `REDIS_URL` takes a cluster).
    pub fn url(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (+10000) is free too, at most 55535.
fn cluster_port() -> u16 {
    for _ in 0..1000 {
        let port = crate::free_port();
        if port > 55_535 {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

/// Waits (at most 10 s) until `ready` holds for the node on `port`.
fn wait_until(port: u16, what: &str, ready: impl Fn(&mut redis::Connection) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("valid url");
    while Instant::now() < deadline {
        if let Ok(mut conn) = client.get_connection()
            && ready(&mut conn)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the cluster node on port {port} never {what}");
}
