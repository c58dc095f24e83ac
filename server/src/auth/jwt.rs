//! Optional authentication: an HS256 JWT in the Socket.IO handshake (`auth.token`) or, for the
//! REST API, in `Authorization: Bearer`. Its `sub` is the only userId the connection may use.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::room_patterns::RoomPatterns;

/// Verifies tokens signed with a shared secret.
#[derive(Clone)]
pub struct JwtVerifier {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    /// Room patterns the token allows; absent: every room.
    rooms: Option<Vec<String>>,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The subject: the only userId the connection may use.
    pub sub: String,
    /// When the token expires, in seconds since the Unix epoch.
    pub exp: u64,
    /// The rooms it may join and read (its `rooms` claim).
    pub rooms: RoomPatterns,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token where one is required.
    #[error("unauthorized: a token is required (auth.token)")]
    Missing,
    /// The token is expired, wrongly signed or malformed.
    #[error("unauthorized: invalid token ({0})")]
    Invalid(String),
    /// The server is shutting down and takes no new connections.
    #[error("server is shutting down")]
    ShuttingDown,
    /// The client's address has as many connections as `--max-connections-per-ip` allows.
    #[error("limit_exceeded: too many connections from this address")]
    TooManyConnections,
}

impl JwtVerifier {
    /// A verifier for HS256 tokens signed with `secret`: `exp` and `sub` are required, `exp` and
    /// `nbf` are checked with `leeway_s` seconds of clock skew (0: none), and `iss` / `aud` must
    /// match when given.
    pub fn hs256(
        secret: &str,
        leeway_s: u64,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        let mut required = vec!["exp", "sub"];
        validation.leeway = leeway_s;
        validation.validate_nbf = true;
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Self {
            key: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
            validation: Arc::new(validation),
        }
    }

    /// What the token says, if it is valid.
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| Verified {
                sub: data.claims.sub,
                exp: data.claims.exp,
                rooms: data
                    .claims
                    .rooms
                    .map_or_else(RoomPatterns::any, |list| RoomPatterns::only(&list)),
            })
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// What the token in a Socket.IO handshake auth payload `{token}` says.
    pub fn verify_handshake(&self, auth: Option<&Value>) -> Result<Verified, AuthError> {
        let token = auth
            .and_then(|a| a.get("token"))
            .and_then(Value::as_str)
            .ok_or(AuthError::Missing)?;
        self.verify(token)
    }
}

/// The authenticated user of a connection, kept in its socket extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub Arc<str>);

/// The rooms a connection's token allows, kept in its socket extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRooms(pub RoomPatterns);
