//! The HTTP side: /health, and static files for the demo page.

use rtm_tests::{RedisServer, Store, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_names_the_store_and_node() {
    let server = TestServer::start(&Store::Memory, |c| c.node_id = Some("node-a".into())).await;
    let (status, body) = rtm_tests::http_get(&format!("{}/health", server.url()), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "store": "memory", "nodeId": "node-a"})
    );
    server.stop().await;

    let redis = RedisServer::start();
    let server = TestServer::start(&Store::Redis(redis.url()), |_| {}).await;
    let body = rtm_tests::http_get_json(&format!("{}/health", server.url())).await;
    assert_eq!(body["store"], "redis");
    assert!(body["nodeId"].as_str().is_some_and(|id| !id.is_empty()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_static_files() {
    let dir = std::env::temp_dir().join(rtm_tests::unique("static"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>rtm demo</h1>").unwrap();
    let server = TestServer::start(&Store::Memory, |c| c.static_dir = Some(dir.clone())).await;
    let page = reqwest::get(format!("{}/", server.url())).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "<h1>rtm demo</h1>");
    let missing = reqwest::get(format!("{}/nope.js", server.url()))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_without_redis() {
    let port = rtm_tests::free_port();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = rtm_server::Config {
        redis_url: Some(format!("redis://127.0.0.1:{port}")),
        ..Default::default()
    };
    let err = rtm_server::RealtimeServer::with_default_modules(config)
        .start(listener)
        .await
        .err()
        .expect("no Redis there");
    assert!(err.to_string().contains("Redis"), "{err}");
}
