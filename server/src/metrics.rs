//! The server's Prometheus metrics: one registry per server, its handles, and the text a scrape
//! gets. A leaf: it imports nothing of the server; the request pipeline (`module::pipeline`)
//! records requests here, and `http::metrics_route` serves the text at `GET /metrics`.
//!
//! Every server has its own recorder, not the process-wide one of the `metrics` facade: tests run
//! several servers in one process, and each server's `/metrics` shows that server's numbers. The
//! handles (counters, gauges, histograms) are registered on that recorder once and kept, so the
//! hot path increments an atomic and looks nothing up.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tokio::task::JoinHandle;

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
/// Counter: the Redis script calls that carried heartbeats (see [`REDIS_HEARTBEATS`]).
pub const REDIS_HEARTBEAT_CALLS: &str = "rtm_redis_heartbeat_calls_total";
/// Counter: the heartbeats those calls carried (divided by the calls: heartbeats per call).
pub const REDIS_HEARTBEATS: &str = "rtm_redis_heartbeats_total";
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
pub(crate) const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    heartbeat_calls: Counter,
    heartbeats: Counter,
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
                REDIS_HEARTBEAT_CALLS,
                "Redis script calls that carried presence heartbeats (those of one tick share one)."
            );
            describe_counter!(
                REDIS_HEARTBEATS,
                "Presence heartbeats sent to Redis; divided by the calls, heartbeats per call."
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
                counter!(REDIS_HEARTBEAT_CALLS),
                counter!(REDIS_HEARTBEATS),
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
            heartbeat_calls,
            heartbeats,
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
            heartbeat_calls,
            heartbeats,
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

    /// Sets how many room channels this node is subscribed to.
    pub(crate) fn bus_room_channels(&self, count: usize) {
        self.0.room_channels.set(count as f64);
    }

    /// Counts a request or HTTP call refused because of the store, or a failed reaper run.
    pub(crate) fn store_error(&self) {
        self.0.store_errors.increment(1);
    }

    /// Counts presence connections the reaper removed.
    pub(crate) fn presence_expired(&self, count: usize) {
        self.0.presence_expired.increment(count as u64);
    }

    /// Counts a Redis script call carrying `heartbeats` heartbeats.
    pub(crate) fn heartbeat_call(&self, heartbeats: usize) {
        self.0.heartbeat_calls.increment(1);
        self.0.heartbeats.increment(heartbeats as u64);
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

    /// The Prometheus text, with the gauges set to `connections` and `rooms` (read now by the
    /// caller: the sockets and the rooms with a presence member on this node).
    pub(crate) fn render(&self, connections: usize, rooms: usize) -> String {
        self.0.connections.set(connections as f64);
        self.0.rooms.set(rooms as f64);
        self.0.handle.render()
    }

    /// Counts an HTTP request to `route` (its template) that answered `status`.
    pub(crate) fn http_request(&self, route: &str, status: &str) {
        metrics::with_local_recorder(&self.0.recorder, || {
            let (route, status) = (route.to_owned(), status.to_owned());
            counter!(HTTP_REQUESTS, "route" => route, "status" => status).increment(1);
        });
    }
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
    /// Records one request that took `elapsed` and answered `ok`, or refused with the code
    /// `refused` (its wire spelling).
    pub(crate) fn record(&self, elapsed: Duration, refused: Option<&'static str>) {
        self.duration.record(elapsed.as_secs_f64());
        match refused {
            None => self.ok.increment(1),
            Some(code) => metrics::with_local_recorder(&self.metrics.0.recorder, || {
                counter!(REQUESTS, "event" => self.event, "result" => code).increment(1);
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_event_and_result_on_their_own_server() {
        let (one, other) = (Metrics::new(), Metrics::new());
        let joins = one.requests("presence:join");
        joins.record(Duration::from_millis(1), None);
        joins.record(Duration::from_millis(2), None);
        joins.record(Duration::from_millis(3), Some("unavailable"));
        one.store_error();
        let text = one.render(0, 0);
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
        let text = other.render(0, 0);
        assert!(!text.contains("rtm_requests_total{"), "{text}");
        assert!(text.contains("rtm_store_errors_total 0"), "{text}");
    }

    #[test]
    fn the_gauges_are_what_the_caller_read() {
        let text = Metrics::new().render(3, 2);
        assert!(text.contains("rtm_connections 3"), "{text}");
        assert!(text.contains("rtm_rooms 2"), "{text}");
    }
}
