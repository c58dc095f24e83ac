//! Optional authentication: an HS256 JWT in the Socket.IO handshake (`auth.token`) or, for the
//! REST API, in `Authorization: Bearer`. Its `sub` is the only userId the connection may use.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;
use serde_json::Value;

/// Verifies tokens signed with a shared secret.
#[derive(Clone)]
pub struct JwtVerifier {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
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
}

impl JwtVerifier {
    /// A verifier for HS256 tokens signed with `secret`; `exp` is required.
    pub fn hs256(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            key: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
            validation: Arc::new(validation),
        }
    }

    /// The token's subject, if the token is valid.
    pub fn verify(&self, token: &str) -> Result<String, AuthError> {
        decode::<Claims>(token, &self.key, &self.validation)
            .map(|data| data.claims.sub)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// The subject of the token in a Socket.IO handshake auth payload `{token}`.
    pub fn verify_handshake(&self, auth: Option<&Value>) -> Result<String, AuthError> {
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
