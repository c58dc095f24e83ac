//! One WebSocket speaking Engine.IO/Socket.IO text frames with `rtm-sdk-core`'s codec: the
//! handshake, requests with ack ids, and reading text frames.

use futures_util::{SinkExt, StreamExt};
use rtm_sdk_core::codec::{engineio, socketio};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An open Socket.IO session on the default namespace.
pub(super) struct Conn {
    ws: Ws,
}

/// Why the connection failed: an error code of the report.
pub(super) type Failure = &'static str;

impl Conn {
    /// Opens the WebSocket and the Socket.IO session.
    pub async fn open(target_url: &str) -> Result<Self, Failure> {
        let url = engineio::websocket_url(target_url);
        // tungstenite zeroes its whole read buffer (128 KiB by default) before each read.
        let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
                .await
                .map_err(|_| "connect_refused")?;
        let mut conn = Conn { ws };
        conn.send(&socketio::Packet::Connect(None)).await?;
        conn.await_connect().await?;
        Ok(conn)
    }

    /// Reads the Engine.IO handshake, then the Socket.IO CONNECT answer.
    async fn await_connect(&mut self) -> Result<(), Failure> {
        loop {
            let frame = self.next_text().await.ok_or("connect_refused")?;
            match engineio::Packet::decode(frame.as_str()) {
                Ok(engineio::Packet::Message(text)) => {
                    return match socketio::Packet::decode(&text) {
                        Ok(socketio::Packet::Connect(_)) => Ok(()),
                        _ => Err("connect_refused"),
                    };
                }
                Ok(engineio::Packet::Open(_)) => {}
                Ok(engineio::Packet::Ping(data)) => self.pong(data).await?,
                _ => return Err("invalid_response"),
            }
        }
    }

    /// Sends one Socket.IO packet.
    pub async fn send(&mut self, packet: &socketio::Packet) -> Result<(), Failure> {
        let frame = engineio::Packet::Message(packet.encode()).encode();
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|_| "disconnected")
    }

    /// Sends event `name` with `payload`, asking for an answer to ack `id`.
    pub async fn request(&mut self, name: &str, payload: Value, id: u64) -> Result<(), Failure> {
        let packet = socketio::Packet::Event {
            name: name.into(),
            args: vec![payload],
            ack: Some(id),
        };
        self.send(&packet).await
    }

    /// Answers an Engine.IO ping.
    pub async fn pong(&mut self, data: String) -> Result<(), Failure> {
        let frame = engineio::Packet::Pong(data).encode();
        self.ws
            .send(Message::text(frame))
            .await
            .map_err(|_| "disconnected")
    }

    /// The next text frame; `None` once the connection is closed or failed. Cancel-safe.
    pub async fn next_text(&mut self) -> Option<Utf8Bytes> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(text)) => return Some(text),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Leaves deliberately: a Socket.IO DISCONNECT (so the server announces the leaves at
    /// once), then the WebSocket close.
    pub async fn disconnect(mut self) {
        let _ = self.send(&socketio::Packet::Disconnect).await;
        let _ = self.ws.close(None).await;
    }
}
