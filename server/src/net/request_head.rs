//! Copies a request's head (URI and headers) out of hyper's read buffer.
//!
//! hyper parses a request into slices of its connection's read buffer (8 to 16 KiB).
//! socketioxide keeps each socket's request head for the socket's whole life, and with it that
//! buffer: half of what an idle connection cost (heaptrack). With the head copied (a few hundred
//! bytes), the buffer goes when the connection upgrades to a WebSocket.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// The request with its URI and headers in their own allocations.
pub(crate) async fn detach(mut request: Request) -> Request {
    let mut headers = HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        let copied = HeaderName::from_bytes(name.as_str().as_bytes())
            .ok()
            .zip(HeaderValue::from_bytes(value.as_bytes()).ok());
        if let Some((name, value)) = copied {
            headers.append(name, value);
        }
    }
    *request.headers_mut() = headers;
    if let Ok(uri) = request.uri().to_string().parse::<Uri>() {
        // The router keeps the URI it was given as an extension too.
        if let Some(OriginalUri(original)) = request.extensions_mut().get_mut::<OriginalUri>() {
            *original = uri.clone();
        }
        *request.uri_mut() = uri;
    }
    request
}
