//! How to write and register a module of your own: a "reactions" module where room members send
//! an emoji that everyone in the room (on every node) sees.
//!
//! Run it: `cargo run -p rtm-server --example custom_module`, then from a Socket.IO client:
//! `presence:join {roomId, userId}`, then `reaction:send {roomId, emoji}` → `{ok:true}` and a
//! `reaction` event `{roomId, userId, emoji}` to the room.

use async_trait::async_trait;
use rtm_server::bus::BusMessage;
use rtm_server::module::validate::{self, Limits};
use rtm_server::{
    AckError, BoxError, Config, ErrorCode, FromPayload, Module, ModuleContext, RealtimeServer,
};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

/// The module: no state of its own, so a unit struct.
struct Reactions;

const EMOJI: [&str; 4] = ["👍", "🎉", "❤️", "😂"];

/// The request `reaction:send {roomId, emoji}`, read and checked before the handler runs: a
/// refusal here is the answer (`invalid_payload`, naming the field).
struct SendReaction {
    room: String,
    emoji: &'static str,
}

impl FromPayload for SendReaction {
    fn from_payload(payload: Value, limits: &Limits) -> Result<Self, AckError> {
        let obj = validate::object(&payload)?;
        let room = limits.id(obj, "roomId")?;
        let emoji = obj.get("emoji").and_then(Value::as_str).unwrap_or_default();
        match EMOJI.into_iter().find(|known| *known == emoji) {
            Some(emoji) => Ok(Self { room, emoji }),
            None => Err(AckError::invalid(format!("emoji must be one of {EMOJI:?}"))),
        }
    }
}

/// `reaction:send`: only the business logic. The pipeline has already taken the socket's turn,
/// checked its rate limit and read the request; it records the request's span and metrics and
/// sends the ack (`{ok:true}` plus the fields answered here, or `{ok:false, error, code}`).
async fn send(
    _: (),
    ctx: ModuleContext,
    socket: SocketRef,
    SendReaction { room, emoji }: SendReaction,
) -> Result<Value, AckError> {
    let Some(me) = rtm_server::presence::joined(&socket, &room) else {
        return Err(AckError::new(ErrorCode::Forbidden, "join the room first"));
    };
    let message = BusMessage {
        room: room.clone(),
        event: "reaction".into(),
        data: json!({ "roomId": room, "userId": me.user_id, "emoji": emoji }),
    };
    // The bus reaches the room's members on every node, once each.
    ctx.bus().publish(message).await.map_err(|e| {
        tracing::warn!(parent: ctx.span(), %e, "publish failed");
        AckError::internal()
    })?;
    Ok(Value::Null)
}

#[async_trait]
impl Module for Reactions {
    fn name(&self) -> &str {
        "reactions"
    }

    /// Once, at start: the request's handler joins the server's table (every socket's).
    async fn register(&self, ctx: &ModuleContext) -> Result<(), BoxError> {
        ctx.handle("reaction:send", (), send)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let config = Config::default();
    // Presence and chat, plus ours; modules start in this order and stop in reverse.
    let server = RealtimeServer::with_default_modules(config)
        .module(Reactions)
        .bind()
        .await?;
    println!("listening on http://{}", server.local_addr());
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}
