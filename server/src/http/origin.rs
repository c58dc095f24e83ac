//! The Origin check of the Socket.IO endpoint. CORS stops a page from reading HTTP answers of
//! another origin, not from opening a WebSocket to it: with `--cors-origin` naming one origin, a
//! browser's handshake (WebSocket upgrade or long-polling) from any other origin is refused with
//! 403. Requests without an `Origin` header (native apps, servers) are not browsers' and pass.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::error::{AckError, ErrorCode};

/// `app` with the check in front, unless every origin is allowed (`*`).
pub(crate) fn checked(app: Router, allowed: &str) -> Router {
    if allowed == "*" {
        return app;
    }
    let allowed = HeaderValue::from_str(allowed).ok();
    app.layer(middleware::from_fn(move |request: Request, next: Next| {
        let allowed = allowed.clone();
        async move {
            let from = request.headers().get(header::ORIGIN);
            let refused = request.uri().path().starts_with("/socket.io")
                && from.is_some_and(|origin| Some(origin) != allowed.as_ref());
            if refused {
                forbidden()
            } else {
                next.run(request).await
            }
        }
    }))
}

fn forbidden() -> Response {
    let body = AckError::new(ErrorCode::Forbidden, "origin not allowed");
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}
