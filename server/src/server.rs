//! [`RealtimeServer`]: owns Socket.IO, the store and the modules; starts and stops them in order.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::api_keys::ApiKeys;
use crate::auth::{AuthError, AuthRooms, AuthUser, JwtVerifier, Verified};
use crate::backend::Backend;
use crate::bus::{Bus, BusTasks};
use crate::chat::ChatModule;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::module::handler_table::HandlerTable;
use crate::module::rate_limit::{RateLimit, SocketBucket, TokenBucket};
use crate::module::{BoxError, Module, ModuleContext};
use crate::net::client_ip::{ConnectionsPerIp, Counted};
use crate::net::departure::Departure;
use crate::presence::{PresenceModule, PresenceOptions};
use crate::redis::RedisConnection;
use crate::storage::Storage;
use crate::storage_module::StorageModule;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Redis was configured but could not be reached.
    #[error("cannot connect to Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A module's `register` failed.
    #[error("module {module} failed to register: {source}")]
    Module {
        /// The module's name.
        module: String,
        /// What it reported.
        source: BoxError,
    },
    /// The listening socket failed.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// A realtime server: Socket.IO plus the registered modules, on the in-memory store or Redis.
///
/// ```no_run
/// # async fn run() -> Result<(), rtm_server::StartError> {
/// use rtm_server::{Config, RealtimeServer};
/// let server = RealtimeServer::with_default_modules(Config::default()).bind().await?;
/// println!("listening on {}", server.local_addr());
/// server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await;
/// # Ok(()) }
/// ```
pub struct RealtimeServer {
    config: Config,
    modules: Vec<Arc<dyn Module>>,
}

impl RealtimeServer {
    /// A server with no modules yet.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            modules: Vec::new(),
        }
    }

    /// A server with the built-in presence module, room storage's requests and the chat module,
    /// configured from `config`.
    pub fn with_default_modules(config: Config) -> Self {
        let presence = PresenceModule::new(PresenceOptions {
            ttl: config.presence_ttl(),
            reaper_interval: config.reaper_interval(),
            grace: Duration::from_millis(config.presence_grace_ms),
            snapshot_page: config.presence_snapshot_page,
            batch: Duration::from_millis(config.presence_batch_ms),
            count_interval: Duration::from_millis(config.presence_count_interval_ms),
            heartbeat_tick: Duration::from_millis(config.redis_heartbeat_tick_ms),
        });
        let chat = ChatModule::new(config.chat_max_history)
            .retention(Duration::from_secs(config.chat_history_ttl_s));
        Self::new(config)
            .module(presence)
            .module(StorageModule)
            .module(chat)
    }

    /// Registers a module. Modules start in registration order and shut down in reverse.
    pub fn module(mut self, module: impl Module) -> Self {
        self.modules.push(Arc::new(module));
        self
    }

    /// Binds the configured host and port, then starts.
    pub async fn bind(self) -> Result<ServerHandle, StartError> {
        let listener = TcpListener::bind((self.config.host, self.config.port)).await?;
        self.start(listener).await
    }

    /// Starts serving on `listener`: connects the store, registers the modules, then accepts.
    pub async fn start(self, listener: TcpListener) -> Result<ServerHandle, StartError> {
        let config = self.config;
        let redis = match &config.redis_url {
            Some(url) => Some(RedisConnection::connect(url).await?),
            None => None,
        };
        let node_id: Arc<str> = config
            .node_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_string())
            .into();

        let shared = Arc::new(Shared {
            closing: AtomicBool::new(false),
            jwt: config.jwt(),
            rate_limit: config.rate_limit(),
            per_ip: ConnectionsPerIp::new(
                config.max_connections_per_ip,
                config.trusted_proxies.clone(),
            ),
            modules: OnceLock::new(),
            handlers: Arc::default(),
            backend: OnceLock::new(),
            bus: OnceLock::new(),
        });
        let (layer, io) = SocketIo::builder()
            .ping_interval(Duration::from_millis(config.ping_interval_ms))
            .ping_timeout(Duration::from_millis(config.ping_timeout_ms))
            // Presence frames are small: a 1 KiB read buffer per socket, not 4 (larger frames
            // still arrive, over several reads).
            .ws_read_buffer_size(1024)
            // Nothing larger is parsed: a bigger message closes its connection.
            .ws_max_message_size(config.max_message_size_bytes)
            .ws_max_frame_size(config.max_message_size_bytes)
            .max_payload(config.max_message_size_bytes as u64)
            .max_buffer_size(config.socket_buffer_packets)
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .with_state(shared.clone())
            .build_layer();
        io.ns("/", on_connect.with(admit));

        let metrics = Metrics::new();
        let (bus, mut bus_tasks, control) = Bus::start(
            io.clone(),
            redis.clone(),
            Backend::channels(&node_id),
            &metrics,
        )
        .await?;
        let backend = Backend::new(
            io.clone(),
            redis.clone(),
            bus.clone(),
            node_id.clone(),
            Duration::from_millis(config.api_timeout_ms),
            config.max_message_size_bytes,
        );
        bus_tasks.push(backend.listen(control));
        let storage = Storage::new(redis.as_ref(), bus.clone(), config.storage_ttl());
        bus_tasks.push(metrics.upkeep());
        let _ = shared.backend.set(backend.clone());
        let _ = shared.bus.set(bus.clone());
        let mut modules = Vec::with_capacity(self.modules.len());
        for module in self.modules {
            let ctx = ModuleContext::new(crate::module::Parts {
                io: io.clone(),
                redis: redis.clone(),
                bus: bus.clone(),
                backend: backend.clone(),
                storage: storage.clone(),
                node_id: node_id.clone(),
                limits: config.limits(),
                span: tracing::info_span!("module", name = module.name()),
                metrics: metrics.clone(),
                handlers: shared.handlers.clone(),
            });
            if let Err(source) = module.register(&ctx).await {
                bus_tasks.abort();
                return Err(StartError::Module {
                    module: module.name().to_string(),
                    source,
                });
            }
            modules.push((module, ctx));
        }
        let _ = shared.modules.set(modules);

        let store = if redis.is_some() { "redis" } else { "memory" };
        let app = crate::http::router(crate::http::Parts {
            limits: config.limits(),
            max_body_bytes: config.max_message_size_bytes,
            static_dir: config.static_dir.as_deref(),
            modules: shared.modules(),
            gate: crate::auth::caller::Gate::new(
                ApiKeys::new(&config.api_keys),
                shared.jwt.clone(),
            ),
            backend,
            storage,
            store,
            node_id: &node_id,
            metrics,
            io: io.clone(),
        })
        .layer(layer)
        .layer(axum::middleware::map_request(
            crate::net::request_head::detach,
        ));
        let app = crate::http::with_cors(app, &config.cors_origin);
        let app = crate::http::origin::checked(app, &config.cors_origin);
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let head_timeout = Duration::from_millis(config.connect_timeout_ms);
        let serve = tokio::spawn(crate::net::listen::serve(
            listener,
            app,
            head_timeout,
            async {
                let _ = stop_rx.await;
            },
        ));
        tracing::info!(%addr, store, node = %node_id, "rtm server listening");
        Ok(ServerHandle {
            addr,
            io,
            shared,
            serve,
            stop: Mutex::new(Some(stop_tx)),
            bus_tasks: Mutex::new(Some(bus_tasks)),
            shutdown_timeout: Duration::from_millis(config.shutdown_timeout_ms),
        })
    }
}

/// State shared by the connection handlers.
pub(crate) struct Shared {
    closing: AtomicBool,
    pub(crate) jwt: Option<JwtVerifier>,
    rate_limit: RateLimit,
    per_ip: ConnectionsPerIp,
    modules: OnceLock<Vec<(Arc<dyn Module>, ModuleContext)>>,
    /// The modules' request handlers, every socket's.
    handlers: Arc<HandlerTable>,
    backend: OnceLock<Backend>,
    bus: OnceLock<Bus>,
}

impl Shared {
    /// The registered modules with their contexts.
    pub(crate) fn modules(&self) -> &[(Arc<dyn Module>, ModuleContext)] {
        self.modules.get().map(Vec::as_slice).unwrap_or_default()
    }

    /// Runs every module's disconnect hook for `socket`, once.
    async fn release(&self, socket: &SocketRef) {
        if socket.extensions.insert(Released).is_some() {
            return;
        }
        // Its place under the per-address cap is free again.
        socket.extensions.remove::<Arc<Counted>>();
        if let Some(backend) = self.backend.get() {
            backend.forget(socket);
        }
        for (module, ctx) in self.modules() {
            module.on_disconnect(socket, ctx).await;
        }
        // Out of the rooms it joined through the bus: a room without local sockets left is
        // unsubscribed.
        if let Some(bus) = self.bus.get() {
            bus.forget(socket);
        }
    }
}

/// Marks a socket whose disconnect hooks have run.
#[derive(Clone)]
struct Released;

/// Connect middleware: refuses connections while closing, checks the token when required, and
/// attaches every module's handlers.
///
/// Handlers are attached here, not in the connect handler: socketioxide sends the CONNECT answer
/// before it runs the (spawned) connect handler, so a client that sends an event right after
/// CONNECT could otherwise find no handler and never get its ack. Middleware runs before the
/// answer is sent.
async fn admit(
    socket: SocketRef,
    io: SocketIo,
    State(shared): State<Arc<Shared>>,
    TryData(auth): TryData<serde_json::Value>,
) -> Result<(), AuthError> {
    if shared.closing.load(Ordering::SeqCst) {
        return Err(AuthError::ShuttingDown);
    }
    match shared.per_ip.admit(socket.req_parts()) {
        None => return Err(AuthError::TooManyConnections),
        Some(Some(counted)) => {
            socket.extensions.insert(Arc::new(counted));
        }
        Some(None) => {}
    }
    if let Some(backend) = shared.backend.get() {
        backend.attach(&socket);
    }
    if let Some(jwt) = &shared.jwt {
        match jwt.verify_handshake(auth.as_ref().ok()) {
            Ok(Verified { sub, exp, rooms }) => {
                if let Some(backend) = shared.backend.get() {
                    backend.claim_user(&socket, &sub);
                }
                socket.extensions.insert(AuthUser(sub.into()));
                socket.extensions.insert(AuthRooms(rooms));
                disconnect_at_expiry(io, &socket, exp);
            }
            Err(err) => {
                tracing::debug!(sid = %socket.id, %err, "connection refused");
                return Err(err);
            }
        }
    }
    crate::module::turns::Turns::attach(&socket);
    let bucket = TokenBucket::new(shared.rate_limit, Instant::now());
    socket
        .extensions
        .insert(SocketBucket(Arc::new(Mutex::new(bucket))));
    for (module, ctx) in shared.modules() {
        module.on_connection(&socket, ctx);
    }
    crate::module::dispatch::attach(&socket, shared.handlers.clone());
    socket.on_disconnect(on_disconnect);
    Ok(())
}

/// Disconnects the socket when its token expires (`exp`, seconds since the Unix epoch): a token
/// means what it says for as long as it says. The SDK reconnects, asking its auth provider for a
/// new token, and rejoins its rooms. The task holds the socket's id, not the socket.
fn disconnect_at_expiry(io: SocketIo, socket: &SocketRef, exp: u64) {
    let sid = socket.id;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // Valid through second `exp` (as the verifier checks it): gone once it has passed.
    let left = Duration::from_secs(exp.saturating_add(1)).saturating_sub(now);
    tokio::spawn(async move {
        tokio::time::sleep(left).await;
        if let Some(socket) = io.of("/").and_then(|ns| ns.get_socket(sid)) {
            tracing::debug!(%sid, "token expired; disconnecting");
            let _ = socket.disconnect();
        }
    });
}

async fn on_connect(socket: SocketRef) {
    tracing::debug!(sid = %socket.id, "connected");
}

async fn on_disconnect(
    socket: SocketRef,
    reason: DisconnectReason,
    State(shared): State<Arc<Shared>>,
) {
    tracing::debug!(sid = %socket.id, %reason, "disconnected");
    Departure::record(&socket, reason);
    shared.release(&socket).await;
}

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    io: SocketIo,
    shared: Arc<Shared>,
    serve: JoinHandle<()>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    bus_tasks: Mutex<Option<BusTasks>>,
    shutdown_timeout: Duration,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Socket.IO handle.
    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    /// Waits for `signal`, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }

    /// Shuts down gracefully: stops accepting, drains (asks every client to move to another node
    /// with `rtm:drain`, and waits for them to go, up to the shutdown timeout), lets every module
    /// release the sockets left (presence keeps their entries for the grace, to be resumed
    /// elsewhere), closes them, then calls each module's `on_shutdown` in reverse order of
    /// registration.
    pub async fn shutdown(self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        if let Some(stop) = self.stop.lock().expect("stop lock").take() {
            let _ = stop.send(());
        }
        let started = Instant::now();
        let drained = crate::net::drain::drain(&self.io, self.shutdown_timeout).await;
        if drained.asked > 0 {
            tracing::info!(
                moved = drained.asked - drained.left_over,
                left_over = drained.left_over,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "drained: clients asked to move to other nodes"
            );
        }
        let sockets = if self.io.of("/").is_some() {
            self.io.sockets()
        } else {
            Vec::new()
        };
        tracing::info!(sockets = sockets.len(), "shutting down");
        futures_util::future::join_all(sockets.iter().map(|s| self.shared.release(s))).await;
        self.io.close().await;
        for (module, _) in self.shared.modules().iter().rev() {
            module.on_shutdown().await;
        }
        let mut serve = self.serve;
        if tokio::time::timeout(Duration::from_secs(5), &mut serve)
            .await
            .is_err()
        {
            serve.abort();
        }
        if let Some(tasks) = self.bus_tasks.lock().expect("bus lock").take() {
            tasks.abort();
        }
        tracing::info!("stopped");
    }
}
