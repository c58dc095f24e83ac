//! Who may do what: tokens (JWT) for users, API keys for the app's backend, the rooms a token
//! allows, and the HTTP API's caller. Imports nothing of the server but its errors.

pub mod api_keys;
pub mod caller;
mod jwt;
pub mod room_patterns;

pub use jwt::{AuthError, AuthRooms, AuthUser, JwtVerifier, Verified};
