//! The HTTP side of the server, on axum: the router, `/metrics`, the backend API (`api/`) and
//! the Origin check of browser requests. The top layer under the entry points: it reads the
//! modules and the backend, nothing reads it.

pub(crate) mod api;
mod metrics_route;
pub(crate) mod origin;
mod router;

pub(crate) use router::{Parts, router, with_cors};
