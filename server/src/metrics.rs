//! Observability: the Prometheus metrics served at `GET /metrics`, and the tracing span each
//! client request runs in (exported over OTLP when the binary is configured for it).
//!
//! Every server has its own recorder, not the process-wide one of the `metrics` facade: tests run
//! several servers in one process, and each server's `/metrics` shows that server's numbers. The
//! handles (counters, gauges, histograms) are registered on that recorder once and kept, so the
//! hot path increments an atomic and looks nothing up.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Counter, Gauge, Histogram};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use serde_json::Value;
use socketioxide::SocketIo;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::caller::{Gate, key_if_configured};
use crate::error::AckError;
use crate::payload::Payload;

/// Gauge: the Socket.IO connections on this node.
pub const CONNECTIONS: &str = "rtm_connections";
/// Gauge: the rooms with a presence member on this node.
pub const ROOMS: &str = "rtm_rooms";
/// Counter: client requests handled, by `event` and `result` (`ok` or the error code).
pub const REQUESTS: &str = "rtm_requests_total";
/// Histogram: how long client requests took, by `event`, in seconds.
pub const REQUEST_DURATION: &str = "rtm_request_duration_seconds";
/// Counter: bus messages, by `direction` (`published`, `received`).
pub const BUS_MESSAGES: &str = "rtm_bus_messages_total";
/// Counter: store (Redis) failures: requests and HTTP calls refused because of the store, and
/// failed reaper runs.
pub const STORE_ERRORS: &str = "rtm_store_errors_total";
/// Counter: presence connections this node's reaper removed because their TTL ran out.
pub const PRESENCE_EXPIRED: &str = "rtm_presence_expired_total";
/// Gauge: the room channels this node is subscribed to on Redis.
pub const BUS_ROOM_CHANNELS: &str = "rtm_bus_room_channels";
/// Counter: HTTP requests to the server's routes, by `route` (its template) and `status`.
pub const HTTP_REQUESTS: &str = "rtm_http_requests_total";

/// The upper bounds of the request duration buckets, in seconds: 0.5 ms to 5 s.
const DURATION_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// How often histogram samples are folded into their buckets between scrapes (so that they do
/// not pile up when nobody scrapes).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The `Content-Type` of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

tokio::task_local! {
    /// The store error counter of the server whose request (or HTTP call) is running: set by
    /// [`RequestMetrics::observe`] and the HTTP layer, read by [`store_error_seen`], so that
    /// `error::store_error` counts for the right server without being handed it.
    static STORE_ERRORS_HERE: Counter;
}

/// One server's metrics; cheap to clone.
#[derive(Clone)]
pub(crate) struct Metrics(Arc<Inner>);

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    connections: Gauge,
    rooms: Gauge,
    published: Counter,
    received: Counter,
    store_errors: Counter,
    presence_expired: Counter,
    room_channels: Gauge,
}

impl Metrics {
    /// A recorder of its own, with every metric described and the unlabelled ones registered.
    pub(crate) fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), &DURATION_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let inner = metrics::with_local_recorder(&recorder, || {
            describe_gauge!(CONNECTIONS, "Socket.IO connections on this node.");
            describe_gauge!(ROOMS, "Rooms with a presence member on this node.");
            describe_counter!(
                REQUESTS,
                "Client requests handled, by event and result (ok or the error code)."
            );
            describe_histogram!(
                REQUEST_DURATION,
                metrics::Unit::Seconds,
                "Time from a request's turn to its answer, by event."
            );
            describe_counter!(
                BUS_MESSAGES,
                "Bus messages, by direction: published by this node through the bus (on Redis, \
                 presence and chat events are published by their Lua scripts and not counted \
                 here), and received by it."
            );
            describe_counter!(
                STORE_ERRORS,
                "Store (Redis) failures: requests and HTTP calls refused because of the store, \
                 and failed reaper runs."
            );
            describe_counter!(
                PRESENCE_EXPIRED,
                "Presence connections this node's reaper removed because their TTL ran out."
            );
            describe_gauge!(
                BUS_ROOM_CHANNELS,
                "Room channels this node is subscribed to on Redis (rooms with a local member)."
            );
            describe_counter!(
                HTTP_REQUESTS,
                "HTTP requests to the server's routes (not Socket.IO, not static files), by route \
                 and status."
            );
            (
                gauge!(CONNECTIONS),
                gauge!(ROOMS),
                counter!(BUS_MESSAGES, "direction" => "published"),
                counter!(BUS_MESSAGES, "direction" => "received"),
                counter!(STORE_ERRORS),
                counter!(PRESENCE_EXPIRED),
                gauge!(BUS_ROOM_CHANNELS),
            )
        });
        let (
            connections,
            rooms,
            published,
            received,
            store_errors,
            presence_expired,
            room_channels,
        ) = inner;
        Self(Arc::new(Inner {
            recorder,
            handle,
            connections,
            rooms,
            published,
            received,
            store_errors,
            presence_expired,
            room_channels,
        }))
    }

    /// The handles for requests of `event` (registered on first use; later calls find them).
    pub(crate) fn requests(&self, event: &'static str) -> RequestMetrics {
        let (ok, duration) = metrics::with_local_recorder(&self.0.recorder, || {
            (
                counter!(REQUESTS, "event" => event, "result" => "ok"),
                histogram!(REQUEST_DURATION, "event" => event),
            )
        });
        RequestMetrics {
            metrics: self.clone(),
            event,
            ok,
            duration,
        }
    }

    /// Counts a message this node published on the bus.
    pub(crate) fn bus_published(&self) {
        self.0.published.increment(1);
    }

    /// Counts a bus message this node received (to deliver to its sockets).
    pub(crate) fn bus_received(&self) {
        self.0.received.increment(1);
    }

    /// Counts a failed store operation.
    /// Sets how many room channels this node is subscribed to.
    pub(crate) fn bus_room_channels(&self, count: usize) {
        self.0.room_channels.set(count as f64);
    }

    pub(crate) fn store_error(&self) {
        self.0.store_errors.increment(1);
    }

    /// Counts presence connections the reaper removed.
    pub(crate) fn presence_expired(&self, count: usize) {
        self.0.presence_expired.increment(count as u64);
    }

    /// Folds histogram samples into their buckets every few seconds, until aborted.
    pub(crate) fn upkeep(&self) -> JoinHandle<()> {
        let handle = self.0.handle.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                ticker.tick().await;
                handle.run_upkeep();
            }
        })
    }

    /// `router` with `GET /metrics` (behind an API key when keys are configured), and with the
    /// layer that counts its requests and lets store failures during them count for this server.
    pub(crate) fn add_routes(&self, router: Router, io: SocketIo, gate: Gate) -> Router {
        let metrics = self.clone();
        let scrape = get(move || {
            let text = metrics.render(&io);
            async move { ([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response() }
        });
        router
            .route(
                "/metrics",
                scrape.layer(middleware::from_fn_with_state(gate, key_if_configured)),
            )
            .layer(middleware::from_fn_with_state(self.clone(), observe_http))
    }

    /// The Prometheus text, with the gauges read from `io` now.
    fn render(&self, io: &SocketIo) -> String {
        // Through `of`: `io.sockets()` panics once shutdown has closed the namespace.
        let sockets = io.of("/").map(|ns| ns.sockets()).unwrap_or_default();
        self.0.connections.set(sockets.len() as f64);
        self.0
            .rooms
            .set(crate::presence::rooms_on_node(&sockets) as f64);
        self.0.handle.render()
    }
}

/// HTTP middleware: counts the request by route and status; store failures while it runs count
/// for this server.
async fn observe_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = STORE_ERRORS_HERE
        .scope(metrics.0.store_errors.clone(), next.run(request))
        .await;
    if let Some(route) = route {
        let status = response.status();
        metrics::with_local_recorder(&metrics.0.recorder, || {
            let (route, status) = (route.as_str().to_owned(), status.as_str().to_owned());
            counter!(HTTP_REQUESTS, "route" => route, "status" => status).increment(1);
        });
    }
    response
}

/// Counts a store failure for the server whose request is running (see [`STORE_ERRORS_HERE`]).
/// A failure outside any request (none today: background tasks count their own) is not counted.
pub(crate) fn store_error_seen() {
    let _ = STORE_ERRORS_HERE.try_with(|errors| errors.increment(1));
}

/// The metrics of one request event.
#[derive(Clone)]
pub(crate) struct RequestMetrics {
    metrics: Metrics,
    event: &'static str,
    ok: Counter,
    duration: Histogram,
}

impl RequestMetrics {
    /// The span a request runs in: its event, and its room when the payload names one. A root
    /// span, so that each request is a trace of its own (the module's span lasts as long as the
    /// server). Nothing is computed when no subscriber wants the span.
    pub(crate) fn span(&self, payload: &Payload) -> tracing::Span {
        tracing::info_span!(
            parent: None,
            "request",
            event = self.event,
            room = room_of(payload),
        )
    }

    /// Runs `handler` in `span`, times it and counts its result; store failures during it count
    /// for this server.
    pub(crate) async fn observe(
        &self,
        span: tracing::Span,
        handler: impl Future<Output = Result<Value, AckError>>,
    ) -> Result<Value, AckError> {
        let start = Instant::now();
        let result = STORE_ERRORS_HERE
            .scope(self.metrics.0.store_errors.clone(), handler)
            .instrument(span)
            .await;
        self.duration.record(start.elapsed().as_secs_f64());
        match &result {
            Ok(_) => self.ok.increment(1),
            Err(err) => metrics::with_local_recorder(&self.metrics.0.recorder, || {
                counter!(REQUESTS, "event" => self.event, "result" => err.code.as_str())
                    .increment(1);
            }),
        }
        result
    }
}

/// The `roomId` of a request payload, when it has one.
fn room_of(payload: &Payload) -> Option<&str> {
    payload.as_ref().ok()?.get("roomId")?.as_str()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id};
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::{Layer, Registry};

    use super::*;
    use crate::error::ErrorCode;

    /// Records the fields of each new span as `name field=value ...`.
    #[derive(Clone, Default)]
    struct Spans(Arc<Mutex<Vec<String>>>);

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }

    impl<S: tracing::Subscriber> Layer<S> for Spans {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
            let mut fields = Fields(attrs.metadata().name().to_string());
            attrs.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }

    fn text(metrics: &Metrics) -> String {
        metrics.0.handle.render()
    }

    #[test]
    fn a_request_span_carries_its_event_and_room() {
        let spans = Spans::default();
        let subscriber = Registry::default().with(spans.clone());
        let requests = Metrics::new().requests("presence:join");
        tracing::subscriber::with_default(subscriber, || {
            requests.span(&Ok(serde_json::json!({"roomId": "r1", "userId": "u"})));
            requests.span(&Ok(Value::Null));
        });
        assert_eq!(
            *spans.0.lock().unwrap(),
            [
                "request event=presence:join room=r1",
                "request event=presence:join"
            ]
        );
    }

    #[tokio::test]
    async fn requests_are_counted_by_event_and_result_on_their_own_server() {
        let (one, other) = (Metrics::new(), Metrics::new());
        let joins = one.requests("presence:join");
        let span = tracing::Span::none;
        joins
            .observe(span(), async { Ok(Value::Null) })
            .await
            .unwrap();
        joins
            .observe(span(), async { Ok(Value::Null) })
            .await
            .unwrap();
        let refused = joins
            .observe(span(), async {
                store_error_seen();
                Err(AckError::new(ErrorCode::Unavailable, "down"))
            })
            .await;
        assert!(refused.is_err());
        let text = text(&one);
        assert!(
            text.contains(r#"rtm_requests_total{event="presence:join",result="ok"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rtm_requests_total{event="presence:join",result="unavailable"} 1"#),
            "{text}"
        );
        assert!(text.contains("rtm_store_errors_total 1"), "{text}");
        assert!(
            text.contains(r#"rtm_request_duration_seconds_count{event="presence:join"} 3"#),
            "{text}"
        );
        let text = self::text(&other);
        assert!(!text.contains("rtm_requests_total{"), "{text}");
        assert!(text.contains("rtm_store_errors_total 0"), "{text}");
    }

    #[test]
    fn a_store_error_outside_a_request_counts_nowhere() {
        let metrics = Metrics::new();
        store_error_seen();
        assert!(text(&metrics).contains("rtm_store_errors_total 0"));
    }
}
