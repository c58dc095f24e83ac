//! `GET /metrics` (behind an API key when keys are configured), and the layer that counts every
//! HTTP request to the server's routes and the store failures among their answers.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use socketioxide::SocketIo;

use crate::auth::caller::{Gate, key_if_configured};
use crate::error::StoreFailure;
use crate::metrics::{Metrics, TEXT_FORMAT};

/// `router` with `GET /metrics` and the counting layer.
pub(super) fn add(router: Router, metrics: Metrics, io: SocketIo, gate: Gate) -> Router {
    let scraped = metrics.clone();
    let scrape = get(move || {
        let text = render(&scraped, &io);
        async move { ([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response() }
    });
    router
        .route(
            "/metrics",
            scrape.layer(middleware::from_fn_with_state(gate, key_if_configured)),
        )
        .layer(middleware::from_fn_with_state(metrics, observe_http))
}

/// The Prometheus text, with the gauges read from `io` now.
fn render(metrics: &Metrics, io: &SocketIo) -> String {
    // Through `of`: `io.sockets()` panics once shutdown has closed the namespace.
    let sockets = io.of("/").map(|ns| ns.sockets()).unwrap_or_default();
    let rooms = crate::presence::rooms_on_node(&sockets);
    metrics.render(sockets.len(), rooms)
}

/// Counts the request by route and status, and a store failure when the answer is one.
async fn observe_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    if response.extensions().get::<StoreFailure>().is_some() {
        metrics.store_error();
    }
    if let Some(route) = route {
        metrics.http_request(route.as_str(), response.status().as_str());
    }
    response
}
