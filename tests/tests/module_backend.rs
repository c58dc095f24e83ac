//! A module uses the backend operations through its `ModuleContext` (the same implementation as
//! the HTTP API): it emits to a user on another node and asks who is online, across two nodes.

use async_trait::async_trait;
use rtm_server::{AckError, Module, ModuleContext};
use rtm_tests::raw::RawSocket;
use rtm_tests::{RedisServer, Store, TestServer, unique};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

/// `notify:user {userId, text}`: emits `notify` to the user, answers with where they are.
struct Notify;

async fn notify_user(
    _: (),
    ctx: ModuleContext,
    _socket: SocketRef,
    payload: Value,
) -> Result<Value, AckError> {
    let obj = rtm_server::module::validate::object(&payload)?;
    let user = ctx.limits().id(obj, "userId")?;
    ctx.emit_to_user(&user, "notify", json!({ "text": obj["text"] }))
        .await?;
    let presence = ctx.user_presence(&user).await?;
    let rooms = ctx.rooms(10, None).await?;
    Ok(json!({ "ok": true, "presence": presence, "rooms": rooms }))
}

#[async_trait]
impl Module for Notify {
    fn name(&self) -> &str {
        "notify"
    }
    fn on_connection(&self, socket: &SocketRef, ctx: &ModuleContext) {
        ctx.on_request(socket, "notify:user", (), notify_user);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_reaches_a_user_on_another_node() {
    let redis = RedisServer::start();
    let store = Store::Redis(redis.url());
    let start = || TestServer::start_with("127.0.0.1:0", &store, |_| {}, |s| s.module(Notify));
    let (a, b) = (start().await, start().await);
    let room = unique("module-room");
    let mut alice = RawSocket::connect(&a.url(), None).await.unwrap();
    let ack = alice
        .request(
            "presence:join",
            &json!({ "roomId": room, "userId": "alice" }),
        )
        .await;
    let conn = ack["self"]["connId"].clone();
    let mut bob = RawSocket::connect(&b.url(), None).await.unwrap();
    let ack = bob
        .request("notify:user", &json!({ "userId": "alice", "text": "hi" }))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(
        ack["presence"],
        json!({ "online": true, "connections": [{ "connId": conn, "rooms": [room] }] })
    );
    assert_eq!(
        ack["rooms"]["rooms"],
        json!([{ "roomId": room, "connections": 1, "users": 1 }])
    );
    assert_eq!(alice.event("notify").await, json!({ "text": "hi" }));
    // Bad input is refused as in any request.
    let refused = bob
        .request("notify:user", &json!({ "userId": "", "text": "x" }))
        .await;
    assert_eq!(refused["code"], "invalid_payload");
    a.stop().await;
    b.stop().await;
}
