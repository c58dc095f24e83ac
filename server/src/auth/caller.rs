//! Who is calling the HTTP API: the app's backend (an API key), a user (a token), or, on a
//! server with neither keys nor tokens configured, anyone. The middlewares here decide before a
//! route runs; routes read the [`Caller`] from the request's extensions.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::JwtVerifier;
use crate::auth::api_keys::ApiKeys;
use crate::auth::room_patterns::RoomPatterns;
use crate::error::{AckError, ErrorCode};

/// Who made an HTTP request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The app's backend: it presented one of the server's API keys.
    Backend,
    /// A user: it presented a valid token.
    User {
        /// The token's subject.
        sub: Arc<str>,
        /// The rooms the token allows.
        rooms: RoomPatterns,
    },
    /// Anyone: the server has neither API keys nor a JWT secret (development).
    Anyone,
}

impl Caller {
    /// Whether the caller may read `room` (its presence, its chat history).
    pub fn may_read_room(&self, room: &str) -> bool {
        match self {
            Self::Backend | Self::Anyone => true,
            Self::User { rooms, .. } => rooms.allows(room),
        }
    }

    /// `Ok` when the caller may read `room`, else the `forbidden` refusal (HTTP 403).
    pub fn check_read(&self, room: &str) -> Result<(), AckError> {
        if self.may_read_room(room) {
            Ok(())
        } else {
            Err(AckError::new(
                ErrorCode::Forbidden,
                "the token's rooms claim does not allow this room",
            ))
        }
    }
}

/// What the middlewares check credentials against.
#[derive(Clone)]
pub(crate) struct Gate {
    keys: ApiKeys,
    jwt: Option<JwtVerifier>,
}

impl Gate {
    pub(crate) fn new(keys: ApiKeys, jwt: Option<JwtVerifier>) -> Self {
        Self { keys, jwt }
    }

    /// The caller, or why it is refused (401) when credentials are wanted and missing or wrong.
    fn identify(&self, headers: &HeaderMap) -> Result<Caller, String> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(bearer) = bearer else {
            if !self.keys.enabled() && self.jwt.is_none() {
                return Ok(Caller::Anyone);
            }
            return Err("Authorization: Bearer <API key or token> is required".into());
        };
        if self.keys.accepts(bearer) {
            return Ok(Caller::Backend);
        }
        match &self.jwt {
            Some(jwt) => match jwt.verify(bearer) {
                Ok(verified) => Ok(Caller::User {
                    sub: verified.sub.into(),
                    rooms: verified.rooms,
                }),
                Err(err) => Err(err.to_string()),
            },
            None => Err("unauthorized: not a valid API key".into()),
        }
    }
}

/// For routes any authenticated caller may use (the modules' REST reads): puts the [`Caller`] in
/// the request's extensions; the route checks what it reads against it.
pub(crate) async fn any_caller(
    State(gate): State<Gate>,
    mut request: Request,
    next: Next,
) -> Response {
    match gate.identify(request.headers()) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(why) => unauthorized(&why),
    }
}

/// For the backend API: 404 when no API key is configured (the API is off, never open), 401
/// without a valid key, 403 for a user's token.
pub(crate) async fn backend_only(
    State(gate): State<Gate>,
    request: Request,
    next: Next,
) -> Response {
    if !gate.keys.enabled() {
        return http_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "the backend API is off: no API key is configured",
        );
    }
    match gate.identify(request.headers()) {
        Ok(Caller::Backend) => next.run(request).await,
        Ok(_) => http_error(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden.as_str(),
            "this route wants an API key, not a user's token",
        ),
        Err(why) => unauthorized(&why),
    }
}

/// For `/metrics`: an API key when keys are configured, open otherwise.
pub(crate) async fn key_if_configured(
    State(gate): State<Gate>,
    request: Request,
    next: Next,
) -> Response {
    if !gate.keys.enabled() {
        return next.run(request).await;
    }
    backend_only(State(gate), request, next).await
}

/// The 401 answer.
fn unauthorized(message: &str) -> Response {
    http_error(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized.as_str(),
        message,
    )
}

/// An HTTP error with the protocol's error body `{ok:false, error, code}`.
pub(crate) fn http_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "ok": false, "error": message, "code": code });
    (status, Json(body)).into_response()
}
