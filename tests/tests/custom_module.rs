//! A module written outside the server crate, against its public API only: its hooks run in the
//! documented order, its requests are answered, its routes are served, its broadcasts arrive.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rtm_server::bus::BusMessage;
use rtm_server::{AckError, BoxError, Module, ModuleContext};
use rtm_tests::{Store, TestClient, TestServer};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: impl Into<String>) {
        self.0.lock().unwrap().push(line.into());
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Echo {
    name: &'static str,
    log: Log,
}

async fn shout(
    _: (),
    ctx: ModuleContext,
    socket: SocketRef,
    payload: Value,
) -> Result<Value, AckError> {
    let text = payload["text"]
        .as_str()
        .ok_or_else(|| AckError::invalid("text must be a string"))?;
    ctx.bus()
        .join(&socket, "echo")
        .await
        .map_err(|_| AckError::internal())?;
    ctx.bus()
        .publish(BusMessage {
            room: "echo".into(),
            event: "echo:shout".into(),
            data: json!({ "text": text.to_uppercase() }),
        })
        .await
        .map_err(|_| AckError::internal())?;
    Ok(Value::Null)
}

#[async_trait]
impl Module for Echo {
    fn name(&self) -> &str {
        self.name
    }
    async fn register(&self, _ctx: &ModuleContext) -> Result<(), BoxError> {
        self.log.push(format!("register {}", self.name));
        Ok(())
    }
    fn on_connection(&self, socket: &SocketRef, ctx: &ModuleContext) {
        self.log.push(format!("connect {}", self.name));
        ctx.on_request(socket, "echo:shout", (), shout);
    }
    async fn on_disconnect(&self, _socket: &SocketRef, _ctx: &ModuleContext) {
        self.log.push(format!("disconnect {}", self.name));
    }
    fn routes(&self, _ctx: &ModuleContext) -> Option<axum::Router> {
        let name = self.name;
        Some(axum::Router::new().route(
            &format!("/api/{name}"),
            axum::routing::get(move || async move { axum::Json(json!({ "module": name })) }),
        ))
    }
    async fn on_shutdown(&self) {
        self.log.push(format!("shutdown {}", self.name));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_module_plugs_in_without_core_changes() {
    let log = Log::default();
    let (one, two) = (log.clone(), log.clone());
    let server = TestServer::start_with(
        "127.0.0.1:0",
        &Store::Memory,
        |_| {},
        move |s| {
            s.module(Echo {
                name: "one",
                log: one,
            })
            .module(Echo {
                name: "two",
                log: two,
            })
        },
    )
    .await;
    assert_eq!(log.lines(), ["register one", "register two"]);

    let client = TestClient::connect(&server.url()).await;
    let ack = client.request("echo:shout", json!({"text": "hi"})).await;
    assert_eq!(ack, json!({"ok": true}));
    let shout = client.expect("echo:shout", |_| true).await;
    assert_eq!(shout["text"], "HI");
    let ack = client.request("echo:shout", json!({"text": 1})).await;
    assert_eq!(ack["code"], "invalid_payload");

    let body = rtm_tests::http_get_json(&format!("{}/api/two", server.url())).await;
    assert_eq!(body, json!({"module": "two"}));

    server.stop().await;
    assert_eq!(
        log.lines(),
        [
            "register one",
            "register two",
            "connect one",
            "connect two",
            "disconnect one",
            "disconnect two",
            "shutdown two",
            "shutdown one"
        ]
    );
}
