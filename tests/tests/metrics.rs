//! `GET /metrics`: the Prometheus text (parsed by a strict parser of the format), with each server
//! counting its own requests, bus messages, store failures, expiries and HTTP calls, and the key
//! check in front of it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use openmetrics_parser::{
    HistogramValue, MetricFamily, MetricsExposition, PrometheusType, PrometheusValue,
};
use rtm_tests::raw::RawSocket;
use rtm_tests::{RedisServer, Store, TestServer, WAIT, unique};
use serde_json::{Value as Json, json};

const KEY: &str = "k1";
const HTTP: &str = "rtm_http_requests_total";

/// One scrape of a server's `/metrics`, parsed by a strict parser of the Prometheus text format.
struct Metrics(MetricsExposition<PrometheusType, PrometheusValue>);

impl Metrics {
    /// Scrapes `base` (with the API key `key`); the answer must be 200 in the text format.
    async fn of(base: &str, key: Option<&str>) -> Self {
        let (status, text) = get_metrics(base, key).await;
        assert_eq!(status, 200, "{text}");
        let parsed = openmetrics_parser::prometheus::parse_prometheus(&text);
        Self(parsed.unwrap_or_else(|err| panic!("not the Prometheus text format: {err:?}\n{text}")))
    }

    fn family(&self, name: &str) -> Option<&MetricFamily<PrometheusType, PrometheusValue>> {
        self.0.families.get(name)
    }

    /// The value of `name` whose labels are exactly `labels`; `None` when it is not listed (a
    /// labelled counter that never moved is not).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<&PrometheusValue> {
        let sample = self.family(name)?.iter_samples().find(|sample| {
            let set = sample.get_labelset().expect("a label set");
            set.iter().count() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
        });
        sample.map(|s| &s.value)
    }

    /// The counter or gauge `name` with exactly `labels`; 0 when it is not listed.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        match self.value(name, labels) {
            None => 0.0,
            Some(PrometheusValue::Counter(c)) => c.value.as_f64(),
            Some(PrometheusValue::Gauge(v) | PrometheusValue::Unknown(v)) => v.as_f64(),
            Some(other) => panic!("{name} is not a single value: {other:?}"),
        }
    }

    /// The histogram `name` with exactly `labels`.
    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> &HistogramValue {
        match self.value(name, labels) {
            Some(PrometheusValue::Histogram(h)) => h,
            other => panic!("{name} {labels:?} is not a histogram: {other:?}"),
        }
    }

    fn requests(&self, event: &str, result: &str) -> f64 {
        self.get(
            "rtm_requests_total",
            &[("event", event), ("result", result)],
        )
    }

    fn bus(&self, direction: &str) -> f64 {
        self.get("rtm_bus_messages_total", &[("direction", direction)])
    }
}

/// GETs `/metrics`: the status and the body.
async fn get_metrics(base: &str, bearer: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// Scrapes until `done` holds (panics after [`WAIT`]); returns that scrape.
async fn until(
    base: &str,
    key: Option<&str>,
    what: &str,
    done: impl Fn(&Metrics) -> bool,
) -> Metrics {
    let deadline = Instant::now() + WAIT;
    loop {
        let metrics = Metrics::of(base, key).await;
        if done(&metrics) {
            return metrics;
        }
        assert!(Instant::now() < deadline, "no {what} within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Joins `room` as `user`; returns the epoch.
async fn join(socket: &mut RawSocket, room: &str, user: &str) -> u64 {
    let ack = socket
        .request("presence:join", &json!({"roomId": room, "userId": user}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    ack["self"]["epoch"].as_u64().unwrap()
}

async fn connect(server: &TestServer) -> RawSocket {
    RawSocket::connect(&server.url(), None).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_bus_and_gauges_are_counted() {
    let server = TestServer::start(&Store::Memory, |_| {}).await;
    let base = server.url();
    let (a, b) = (unique("metrics-a"), unique("metrics-b"));

    let before = Metrics::of(&base, None).await;
    assert_eq!(before.get("rtm_connections", &[]), 0.0);
    assert_eq!(before.get("rtm_rooms", &[]), 0.0);
    assert_eq!(before.get("rtm_store_errors_total", &[]), 0.0);
    assert_eq!(before.get("rtm_presence_expired_total", &[]), 0.0);

    let mut one = connect(&server).await;
    let mut two = connect(&server).await;
    let mut three = connect(&server).await;
    let epoch = join(&mut one, &a, "u1").await;
    join(&mut two, &a, "u2").await;
    join(&mut three, &b, "u3").await;
    let ack = one
        .request("presence:heartbeat", &json!({"roomId": a, "epoch": epoch}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let ack = one.request("presence:join", &json!({"userId": "u1"})).await;
    assert_eq!(ack["code"], "invalid_payload", "{ack}");
    let ack = two
        .request("chat:send", &json!({"roomId": a, "message": "hi"}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");

    // Requests are counted before they are answered; bus messages are received by another task.
    let published = 4.0; // three joins, one chat message
    let now = until(&base, None, "bus messages received", |m| {
        m.bus("received") == published
    })
    .await;
    assert_eq!(now.requests("presence:join", "ok"), 3.0);
    assert_eq!(now.requests("presence:join", "invalid_payload"), 1.0);
    assert_eq!(now.requests("presence:heartbeat", "ok"), 1.0);
    assert_eq!(now.requests("chat:send", "ok"), 1.0);
    assert_eq!(now.requests("presence:leave", "ok"), 0.0);
    let joins = now.histogram(
        "rtm_request_duration_seconds",
        &[("event", "presence:join")],
    );
    assert_eq!(joins.count, Some(4));
    assert!(joins.sum.as_ref().unwrap().as_f64() > 0.0);
    assert_eq!(joins.buckets.first().unwrap().upper_bound, 0.0005);
    let last = joins.buckets.last().unwrap();
    assert_eq!(
        (last.upper_bound, last.count.as_f64()),
        (f64::INFINITY, 4.0)
    );
    assert_eq!(now.bus("published"), published);
    assert_eq!(now.get("rtm_connections", &[]), 3.0);
    assert_eq!(now.get("rtm_rooms", &[]), 2.0);
    assert_eq!(now.get("rtm_store_errors_total", &[]), 0.0);
    for name in [
        "rtm_requests_total",
        "rtm_request_duration_seconds",
        "rtm_rooms",
    ] {
        let family = now.family(name).unwrap();
        assert!(!family.help.is_empty(), "no HELP for {name}");
    }

    // A connection that goes takes its room with it.
    three.drop_now().await;
    until(&base, None, "the third connection gone", |m| {
        m.get("rtm_connections", &[]) == 2.0 && m.get("rtm_rooms", &[]) == 1.0
    })
    .await;
    let ack = one.request("presence:leave", &json!({"roomId": a})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let now = Metrics::of(&base, None).await;
    assert_eq!(now.requests("presence:leave", "ok"), 1.0);
    assert_eq!(now.get("rtm_rooms", &[]), 1.0, "two is still in {a}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_presence_is_counted() {
    let server = TestServer::start(&Store::Memory, |c| {
        c.presence_ttl_ms = 300;
        c.presence_reaper_interval_ms = 50;
    })
    .await;
    let room = unique("metrics-exp");
    let mut silent = connect(&server).await;
    join(&mut silent, &room, "silent").await;
    let now = until(&server.url(), None, "an expiry", |m| {
        m.get("rtm_presence_expired_total", &[]) == 1.0
    })
    .await;
    assert_eq!(
        now.get("rtm_connections", &[]),
        1.0,
        "expired, still connected"
    );
    until(&server.url(), None, "the expired room gone", |m| {
        m.get("rtm_rooms", &[]) == 0.0
    })
    .await;
    server.stop().await;
}

fn user_token(secret: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    encode(
        &Header::default(),
        &json!({"sub": "u", "exp": now + 600}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_is_wanted_when_keys_are_configured() {
    let open = TestServer::start(&Store::Memory, |_| {}).await;
    assert_eq!(get_metrics(&open.url(), None).await.0, 200);
    open.stop().await;

    let secret = "metrics-secret";
    let keyed = TestServer::start(&Store::Memory, |c| {
        c.api_keys = vec![KEY.into()];
        c.jwt_secret = Some(secret.into());
    })
    .await;
    let base = keyed.url();
    let (status, body) = get_metrics(&base, None).await;
    assert_eq!(status, 401, "{body}");
    let body: Json = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(get_metrics(&base, Some("k2")).await.0, 401);
    assert_eq!(get_metrics(&base, Some(&user_token(secret))).await.0, 403);
    let (status, text) = get_metrics(&base, Some(KEY)).await;
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE rtm_connections gauge"), "{text}");
    let scrape = Metrics::of(&base, Some(KEY)).await;
    let refused = |status| scrape.get(HTTP, &[("route", "/metrics"), ("status", status)]);
    assert_eq!(
        (refused("401"), refused("403"), refused("200")),
        (2.0, 1.0, 1.0)
    );
    keyed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_each_node_counts_its_own() {
    let redis = RedisServer::start();
    let store = Store::Redis(redis.url());
    let keyed = |c: &mut rtm_server::Config| {
        c.api_keys = vec![KEY.into()];
        // No reaper run while the store is frozen below: its failure would count too.
        c.presence_reaper_interval_ms = 600_000;
        // Heartbeats sent together surely share a call.
        c.redis_heartbeat_tick_ms = 200;
    };
    let (a, b) = (
        TestServer::start(&store, keyed).await,
        TestServer::start(&store, keyed).await,
    );
    let (room, other) = (unique("metrics-r"), unique("metrics-r2"));
    let key = Some(KEY);

    let mut a1 = connect(&a).await;
    let mut a2 = connect(&a).await;
    let mut b1 = connect(&b).await;
    let e1 = join(&mut a1, &room, "u1").await;
    let e2 = join(&mut b1, &room, "u2").await;
    let e3 = join(&mut a2, &other, "u3").await;
    // Heartbeats go to Redis in calls that carry those of one tick: a's two share one.
    let (beat1, beat3) = (json!({"epoch": e1}), json!({"epoch": e3}));
    let (h1, h3) = tokio::join!(
        a1.request("presence:heartbeat", &beat1),
        a2.request("presence:heartbeat", &beat3)
    );
    let h2 = b1
        .request("presence:heartbeat", &json!({"epoch": e2}))
        .await;
    assert!(
        [&h1, &h2, &h3].iter().all(|h| h["ok"] == true),
        "{h1} {h2} {h3}"
    );
    // The backend API's room emit is published on the bus by node a.
    let response = reqwest::Client::new()
        .post(format!("{}/api/rooms/{room}/events", a.url()))
        .bearer_auth(KEY)
        .json(&json!({"event": "notice", "data": {"n": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Each node receives only its own rooms' messages (published by the presence scripts, in
    // Redis, and by the emit): a has both rooms, so the three joins and the emit; b has one
    // room since its socket joined it, so b1's own join and the emit.
    let on_a = until(&a.url(), key, "node a's bus messages", |m| {
        m.bus("received") == 4.0
    })
    .await;
    let on_b = until(&b.url(), key, "node b's bus messages", |m| {
        m.bus("received") == 2.0
    })
    .await;
    assert_eq!(on_a.get("rtm_bus_room_channels", &[]), 2.0);
    assert_eq!(on_b.get("rtm_bus_room_channels", &[]), 1.0);
    assert_eq!(on_a.bus("published"), 1.0);
    assert_eq!(on_b.bus("published"), 0.0);
    let emits = [("route", "/api/rooms/{room_id}/events"), ("status", "200")];
    assert_eq!(on_a.get(HTTP, &emits), 1.0);
    assert_eq!(on_b.get(HTTP, &emits), 0.0);
    assert_eq!(on_a.requests("presence:join", "ok"), 2.0);
    assert_eq!(on_b.requests("presence:join", "ok"), 1.0);
    assert_eq!(on_a.get("rtm_connections", &[]), 2.0);
    assert_eq!(on_b.get("rtm_connections", &[]), 1.0);
    assert_eq!(on_a.get("rtm_rooms", &[]), 2.0);
    assert_eq!(on_b.get("rtm_rooms", &[]), 1.0);
    assert_eq!(on_a.get("rtm_redis_heartbeats_total", &[]), 2.0);
    assert_eq!(on_b.get("rtm_redis_heartbeats_total", &[]), 1.0);
    assert_eq!(on_b.get("rtm_redis_heartbeat_calls_total", &[]), 1.0);
    assert_eq!(on_a.get("rtm_redis_heartbeat_calls_total", &[]), 1.0);

    // A store that does not answer: a's join and a's REST read fail, counted on a only.
    redis.pause();
    let down = unique("metrics-down");
    let snapshot = reqwest::Client::new()
        .get(format!("{}/api/rooms/{down}/presence", a.url()))
        .bearer_auth(KEY)
        .send();
    let join = json!({"roomId": down, "userId": "u1"});
    let (ack, snapshot) = tokio::join!(a1.request("presence:join", &join), snapshot);
    redis.resume();
    assert_eq!(ack["code"], "unavailable", "{ack}");
    assert_eq!(snapshot.unwrap().status(), 503);
    let on_a = Metrics::of(&a.url(), key).await;
    let on_b = Metrics::of(&b.url(), key).await;
    assert_eq!(on_a.get("rtm_store_errors_total", &[]), 2.0);
    assert_eq!(on_a.requests("presence:join", "unavailable"), 1.0);
    let snapshots = [
        ("route", "/api/rooms/{room_id}/presence"),
        ("status", "503"),
    ];
    assert_eq!(on_a.get(HTTP, &snapshots), 1.0);
    assert_eq!(on_b.get("rtm_store_errors_total", &[]), 0.0);
    a.stop().await;
    b.stop().await;
}
