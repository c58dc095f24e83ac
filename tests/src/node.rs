//! An rtm node as a process of its own (`rtm-test-server`), so that a test can SIGTERM it (a
//! rolling deploy) or SIGKILL it (a crash). Its stderr (the logs, `RUST_LOG=info`, no colours)
//! is kept for assertions; it is killed on drop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How a node is started. The flags are `rtm-server`'s; the disconnect grace and the shutdown
/// timeout are passed as environment variables, which a server that does not know them ignores.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The `rtm-test-server` binary (`env!("CARGO_BIN_EXE_rtm-test-server")` in a test).
    pub bin: PathBuf,
    /// `--redis-url`.
    pub redis_url: String,
    /// `--presence-ttl-ms`.
    pub ttl_ms: u64,
    /// `--presence-reaper-interval-ms`.
    pub reaper_ms: u64,
    /// `RTM_PRESENCE_GRACE_MS`.
    pub grace_ms: u64,
    /// `RTM_SHUTDOWN_TIMEOUT_MS`.
    pub shutdown_timeout_ms: u64,
}

/// A running node.
pub struct Node {
    name: String,
    child: Child,
    pid: u32,
    addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Node {
    /// Starts a node named `name` (its `--node-id`) on a free 127.0.0.1 port and waits until it
    /// says it listens.
    pub async fn start(config: &NodeConfig, name: &str) -> Self {
        let mut child = Command::new(&config.bin)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--redis-url", &config.redis_url])
            .args(["--presence-ttl-ms", &config.ttl_ms.to_string()])
            .args([
                "--presence-reaper-interval-ms",
                &config.reaper_ms.to_string(),
            ])
            .args(["--node-id", name])
            .env("RTM_PRESENCE_GRACE_MS", config.grace_ms.to_string())
            .env(
                "RTM_SHUTDOWN_TIMEOUT_MS",
                config.shutdown_timeout_ms.to_string(),
            )
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", config.bin.display()));
        let pid = child.id().expect("a running child has a pid");

        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let kept = Arc::clone(&logs);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().expect("logs lock").push(strip_ansi(&line));
            }
        });

        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.strip_prefix("rtm-test-server listening on ") {
                    return addr.trim().parse::<SocketAddr>().ok();
                }
            }
            None
        })
        .await;
        let Ok(Some(addr)) = listening else {
            let logs = logs.lock().expect("logs lock").join("\n");
            panic!("node {name} did not start listening; its stderr:\n{logs}");
        };
        // The rest of stdout is read and dropped, so the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        Self {
            name: name.to_string(),
            child,
            pid,
            addr,
            logs,
        }
    }

    /// Its name (`--node-id`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM (what a deploy sends).
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends SIGKILL (a crash: nothing runs after it).
    pub fn kill(&self) {
        self.signal("KILL");
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} node {}", self.name);
    }

    /// Waits up to `within` for the process to exit; its status, or `None` while it still runs.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Every log line so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs lock").clone()
    }

    /// The log lines at WARN or ERROR, except those containing any of `allowed` (case-insensitive).
    pub fn warnings_except(&self, allowed: &[&str]) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|line| is_warning(line))
            .filter(|line| {
                let lower = line.to_lowercase();
                !allowed.iter().any(|a| lower.contains(&a.to_lowercase()))
            })
            .collect()
    }

    /// The WARN lines about bus deliveries (what every ordinary disconnect logged before issue 15).
    pub fn delivery_warnings(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|line| is_warning(line) && line.contains("bus delivery"))
            .collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // A failed test shows what the node logged (the tail, and every warning).
        if std::thread::panicking() {
            let logs = self.logs();
            let warnings: Vec<&String> = logs.iter().filter(|l| is_warning(l)).collect();
            eprintln!(
                "---- node {} ({}): {} log lines, {} warnings; warnings (first 20):",
                self.name,
                self.addr,
                logs.len(),
                warnings.len()
            );
            for line in warnings.iter().take(20) {
                eprintln!("  {line}");
            }
            eprintln!("---- node {}: last 25 lines:", self.name);
            for line in logs.iter().skip(logs.len().saturating_sub(25)) {
                eprintln!("  {line}");
            }
        }
        let _ = self.child.start_kill();
    }
}

/// Whether a log line (tracing's format: `<time>  WARN <target>: ...`) is at WARN or ERROR.
fn is_warning(line: &str) -> bool {
    line.contains(" WARN ") || line.contains(" ERROR ")
}

/// `line` without ANSI colour sequences (in case a build colours its logs anyway).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Waits until `cond` holds, polling every 20 ms; false if it still does not at `deadline`.
pub async fn until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
