//! The HTTP side: `/health`, the modules' REST routes (behind a bearer token when JWT is on),
//! static files (the demo page) and CORS.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::auth::JwtVerifier;
use crate::config::Config;
use crate::error::{AckError, ErrorCode};
use crate::module::{Module, ModuleContext};

pub(crate) fn router(
    config: &Config,
    modules: &[(Arc<dyn Module>, ModuleContext)],
    jwt: Option<JwtVerifier>,
    store: &'static str,
    node_id: &str,
) -> Router {
    let mut api = Router::new();
    for (module, ctx) in modules {
        if let Some(routes) = module.routes(ctx) {
            api = api.merge(routes);
        }
    }
    if let Some(jwt) = jwt {
        api = api.layer(middleware::from_fn_with_state(jwt, require_bearer));
    }
    let health = json!({ "status": "ok", "store": store, "nodeId": node_id });
    let mut app = Router::new()
        .route("/health", get(move || async move { Json(health) }))
        .merge(api);
    if let Some(dir) = &config.static_dir {
        app = app.fallback_service(ServeDir::new(dir));
    }
    app
}

async fn require_bearer(State(jwt): State<JwtVerifier>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.map(|t| jwt.verify(t)) {
        Some(Ok(_)) => next.run(request).await,
        Some(Err(err)) => unauthorized(&err.to_string()),
        None => unauthorized("unauthorized: Authorization: Bearer <jwt> is required"),
    }
}

fn unauthorized(message: &str) -> Response {
    let body = AckError::new(ErrorCode::Unauthorized, message);
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

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
