//! Copies a request's head (URI and headers) out of hyper's read buffer.
//!
//! hyper parses a request into slices of its connection's read buffer (8 to 16 KiB).
//! socketioxide keeps each socket's request head for the socket's whole life, and with it that
//! buffer: half of what an idle connection cost (heaptrack). With the head copied (a few hundred
//! bytes), the buffer goes when the connection upgrades to a WebSocket.
//!
//! A Socket.IO request keeps only the headers read after this point ([`SOCKET_IO_HEADERS`]): a
//! browser's others (user agent, cookies, languages: often a kilobyte or more) would otherwise be
//! kept for the socket's life for nothing. The origin check and CORS run before this, on the
//! whole head.

use axum::extract::{OriginalUri, Request};
use axum::http::header::{CONTENT_TYPE, SEC_WEBSOCKET_KEY};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// Where Socket.IO's requests go (socketioxide's default path).
const SOCKET_IO_PATH: &str = "/socket.io/";

/// The headers a Socket.IO request keeps: engineioxide reads the WebSocket key of an upgrade and
/// the content type of a polling post; rtm reads `X-Forwarded-For` when the socket connects.
const SOCKET_IO_HEADERS: [HeaderName; 3] = [
    SEC_WEBSOCKET_KEY,
    CONTENT_TYPE,
    HeaderName::from_static("x-forwarded-for"),
];

/// The request with its URI and headers in their own allocations (a Socket.IO request's
/// headers reduced to [`SOCKET_IO_HEADERS`]).
pub(crate) async fn detach(mut request: Request) -> Request {
    let socket_io = request.uri().path().starts_with(SOCKET_IO_PATH);
    let capacity = if socket_io {
        SOCKET_IO_HEADERS.len()
    } else {
        request.headers().len()
    };
    let mut headers = HeaderMap::with_capacity(capacity);
    for (name, value) in request.headers() {
        if socket_io && !SOCKET_IO_HEADERS.contains(name) {
            continue;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(path: &str) -> Request {
        Request::builder()
            .uri(path)
            .header("user-agent", "Mozilla/5.0")
            .header("cookie", "session=abc")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("content-type", "text/plain;charset=UTF-8")
            .header("x-forwarded-for", "203.0.113.7")
            .header("x-forwarded-for", "198.51.100.2")
            .body(Body::empty())
            .unwrap()
    }

    fn names(request: &Request) -> Vec<(String, String)> {
        request
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn a_socket_io_request_keeps_only_the_headers_read_after_it() {
        let kept = detach(request("/socket.io/?EIO=4&transport=websocket")).await;
        assert_eq!(
            names(&kept),
            [
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("content-type", "text/plain;charset=UTF-8"),
                ("x-forwarded-for", "203.0.113.7"),
                ("x-forwarded-for", "198.51.100.2"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(kept.uri(), "/socket.io/?EIO=4&transport=websocket");
    }

    #[tokio::test]
    async fn other_requests_keep_every_header() {
        let original = names(&request("/api/rooms"));
        let kept = detach(request("/api/rooms")).await;
        assert_eq!(names(&kept), original);
        // A path that only starts like Socket.IO's is not Socket.IO's.
        assert_eq!(names(&detach(request("/socket.iox")).await).len(), 6);
    }
}
