//! The server's router: `/health`, `/metrics`, the modules' REST routes (for callers the
//! `caller` middleware admits), the backend API, static files (the demo page) and CORS.

use std::path::Path;
use std::sync::Arc;

use axum::http::HeaderValue;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use socketioxide::SocketIo;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use super::metrics_route;
use crate::auth::caller::{Gate, any_caller};
use crate::backend::Backend;
use crate::metrics::Metrics;
use crate::module::validate::Limits;
use crate::module::{Module, ModuleContext};
use crate::storage::Storage;

/// What the router is made of.
pub(crate) struct Parts<'a> {
    /// The input limits (the backend API checks ids as the Socket.IO requests do).
    pub(crate) limits: Limits,
    /// The largest HTTP body the backend API reads, in bytes.
    pub(crate) max_body_bytes: usize,
    /// The directory of static files served at `/`, if any.
    pub(crate) static_dir: Option<&'a Path>,
    pub(crate) modules: &'a [(Arc<dyn Module>, ModuleContext)],
    pub(crate) gate: Gate,
    pub(crate) backend: Backend,
    pub(crate) storage: Storage,
    pub(crate) store: &'static str,
    pub(crate) node_id: &'a str,
    pub(crate) metrics: Metrics,
    pub(crate) io: SocketIo,
}

/// `/health`, `/metrics`, the modules' routes (each request's
/// [`Caller`](crate::auth::caller::Caller) in its extensions), the backend API and the static files.
pub(crate) fn router(parts: Parts<'_>) -> Router {
    let Parts {
        limits,
        max_body_bytes,
        static_dir,
        modules,
        gate,
        backend,
        storage,
        store,
        node_id,
        metrics,
        io,
    } = parts;
    let mut reads = Router::new();
    for (module, ctx) in modules {
        if let Some(routes) = module.routes(ctx) {
            reads = reads.merge(routes);
        }
    }
    let reads = reads.layer(middleware::from_fn_with_state(gate.clone(), any_caller));
    let api = super::api::routes(backend, limits, gate.clone(), max_body_bytes).merge(
        super::api::storage::routes(storage, limits, gate.clone(), max_body_bytes),
    );
    let health = json!({ "status": "ok", "store": store, "nodeId": node_id });
    let app = Router::new()
        .route("/health", get(move || async move { Json(health) }))
        .merge(reads)
        .merge(api);
    let mut app = metrics_route::add(app, metrics, io, gate);
    if let Some(dir) = static_dir {
        app = app.fallback_service(ServeDir::new(dir));
    }
    app
}

/// `app` answering CORS requests from `origin` (`*`: any).
pub(crate) fn with_cors(app: Router, origin: &str) -> Router {
    let allow = if origin == "*" {
        AllowOrigin::any()
    } else {
        match HeaderValue::from_str(origin) {
            Ok(value) => AllowOrigin::exact(value),
            Err(_) => {
                tracing::warn!(origin, "invalid CORS origin; allowing none");
                AllowOrigin::list([])
            }
        }
    };
    app.layer(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods(tower_http::cors::Any)
            .allow_headers(tower_http::cors::Any),
    )
}
