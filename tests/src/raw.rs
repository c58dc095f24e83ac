//! Raw Engine.IO / Socket.IO clients, frame by frame, as a hostile client speaks: over WebSocket
//! ([`RawSocket`]) and HTTP long-polling ([`Polling`]). Every wait is bounded by [`WAIT`].

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::WAIT;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket speaking Engine.IO v4 and Socket.IO v5 by hand.
pub struct RawSocket {
    ws: Ws,
    /// The Engine.IO session id the server gave this transport.
    pub engine_sid: String,
    next_ack: u64,
    /// Events received while waiting for something else, oldest first.
    pub events: Vec<(String, Value)>,
    /// Acks received while waiting for something else, by id.
    acks: std::collections::HashMap<u64, Value>,
}

/// `http://host:port` as the Engine.IO WebSocket URL.
fn ws_url(base: &str) -> String {
    format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.replacen("http", "ws", 1)
    )
}

impl RawSocket {
    /// Opens the Engine.IO transport only (no Socket.IO CONNECT yet).
    pub async fn open(base: &str) -> Self {
        Self::open_with(base, &[])
            .await
            .expect("the WebSocket opens")
    }

    /// Opens the Engine.IO transport with extra request `headers`; `Err` with the HTTP status
    /// when the handshake is refused.
    pub async fn open_with(base: &str, headers: &[(&str, &str)]) -> Result<Self, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        let mut request = ws_url(base).into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let opened = tokio::time::timeout(WAIT, connect_async(request))
            .await
            .expect("the WebSocket handshake in time");
        let mut ws = match opened {
            Ok((ws, _)) => ws,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                return Err(response.status().as_u16());
            }
            Err(err) => panic!("the WebSocket handshake: {err}"),
        };
        let open = next_text(&mut ws).await.expect("an Engine.IO OPEN");
        let handshake: Value =
            serde_json::from_str(open.strip_prefix('0').expect("OPEN is packet 0")).unwrap();
        Ok(Self {
            ws,
            engine_sid: handshake["sid"].as_str().unwrap().to_string(),
            next_ack: 0,
            events: Vec::new(),
            acks: std::collections::HashMap::new(),
        })
    }

    /// Opens and sends the Socket.IO CONNECT (with `auth`); `Err` with a CONNECT_ERROR's message.
    pub async fn connect(base: &str, auth: Option<Value>) -> Result<Self, String> {
        Self::connect_with(base, auth, &[]).await
    }

    /// As [`RawSocket::connect`], with extra request headers on the handshake.
    pub async fn connect_with(
        base: &str,
        auth: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Self, String> {
        let mut socket = Self::open_with(base, headers)
            .await
            .map_err(|status| format!("handshake refused with HTTP {status}"))?;
        let connect = match auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_string(),
        };
        socket.send(&connect).await;
        loop {
            let Some(frame) = socket.recv().await else {
                return Err("closed before CONNECT was answered".into());
            };
            if frame.starts_with('0') {
                return Ok(socket);
            }
            if let Some(error) = frame.strip_prefix('4') {
                let error: Value = serde_json::from_str(error).unwrap_or(Value::Null);
                return Err(error["message"].as_str().unwrap_or_default().to_string());
            }
        }
    }

    /// Sends a text frame as it is.
    pub async fn send(&mut self, frame: &str) {
        let _ = self.ws.send(Message::text(frame)).await;
    }

    /// Sends `event` with `data` and no ack.
    pub async fn emit(&mut self, event: &str, data: &Value) {
        self.send(&format!("42{}", serde_json::json!([event, data])))
            .await;
    }

    /// Sends `event` with `data` and returns its ack id, without waiting.
    pub async fn emit_with_ack(&mut self, event: &str, data: &Value) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send(&format!("42{id}{}", serde_json::json!([event, data])))
            .await;
        id
    }

    /// Sends `event` with `data` and waits for its ack.
    pub async fn request(&mut self, event: &str, data: &Value) -> Value {
        let id = self.emit_with_ack(event, data).await;
        self.ack(id).await
    }

    /// Waits for the ack `id` (keeping events and other acks that arrive meanwhile).
    pub async fn ack(&mut self, id: u64) -> Value {
        loop {
            if let Some(ack) = self.acks.remove(&id) {
                return ack;
            }
            self.recv().await.expect("the ack before the socket closed");
        }
    }

    /// The next event named `name` (earlier ones kept aside are looked at first).
    pub async fn event(&mut self, name: &str) -> Value {
        if let Some(i) = self.events.iter().position(|(n, _)| n == name) {
            return self.events.remove(i).1;
        }
        loop {
            self.recv()
                .await
                .expect("the event before the socket closed");
            if let Some(i) = self.events.iter().position(|(n, _)| n == name) {
                return self.events.remove(i).1;
            }
        }
    }

    /// The next Socket.IO packet, without its Engine.IO prefix (Engine.IO pings are answered,
    /// events kept in `events`, acks in `acks`); `None` once the server closed the connection or
    /// sent a Socket.IO DISCONNECT.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            let frame = next_text(&mut self.ws).await?;
            match frame.as_str() {
                "2" => self.send("3").await,
                "1" => return None,
                // A Socket.IO DISCONNECT ends the session as much as a closed transport.
                "41" => return None,
                _ => {
                    let packet = frame.strip_prefix('4')?.to_string();
                    if let Some(ack) = packet.strip_prefix('3')
                        && let Some(start) = ack.find('[')
                        && let Ok(id) = ack[..start].parse::<u64>()
                        && let Ok(Value::Array(mut args)) = serde_json::from_str(&ack[start..])
                    {
                        let first = if args.is_empty() {
                            Value::Null
                        } else {
                            args.swap_remove(0)
                        };
                        self.acks.insert(id, first);
                    }
                    if let Some(event) = packet.strip_prefix('2')
                        && let Ok(Value::Array(mut args)) = serde_json::from_str(event)
                        && let Some(Value::String(name)) = args.first().cloned()
                    {
                        let data = if args.len() > 1 {
                            args.swap_remove(1)
                        } else {
                            Value::Null
                        };
                        self.events.push((name, data));
                    }
                    return Some(packet);
                }
            }
        }
    }

    /// Waits until the server closes the connection or the Socket.IO session (panics after
    /// [`WAIT`]); the frames that came before are dropped.
    pub async fn closed(&mut self) {
        tokio::time::timeout(WAIT, async { while self.recv().await.is_some() {} })
            .await
            .expect("the server closes the connection in time");
    }

    /// Reads (and answers pings) until the server closes the connection, however long that
    /// takes: a well-behaved client idling in the background.
    pub async fn read_until_closed(mut self) {
        while let Some(Ok(message)) = self.ws.next().await {
            if message.to_text().is_ok_and(|t| t == "2") {
                self.send("3").await;
            }
        }
    }

    /// Closes the TCP connection at once, without any goodbye.
    pub async fn drop_now(self) {
        drop(self.ws);
    }
}

/// The next text frame; `None` when the connection is closed or fails.
async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame or a close in time");
        match message {
            Some(Ok(Message::Text(text))) => return Some(text.to_string()),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// An Engine.IO long-polling session, by hand.
pub struct Polling {
    http: reqwest::Client,
    base: String,
    /// The session id.
    pub sid: String,
}

impl Polling {
    /// Opens a session, sends the Socket.IO CONNECT and waits for its answer (as socket.io-client
    /// does: an event sent before it would be for a namespace not joined yet).
    pub async fn connect(base: &str) -> Self {
        let http = reqwest::Client::new();
        let open = http
            .get(format!("{base}/socket.io/?EIO=4&transport=polling"))
            .send()
            .await
            .expect("the polling handshake")
            .text()
            .await
            .unwrap();
        let handshake: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
        let polling = Self {
            http,
            base: base.to_string(),
            sid: handshake["sid"].as_str().unwrap().to_string(),
        };
        assert_eq!(polling.post(&polling.sid, "40").await, 200);
        polling.poll_until(|packet| packet.starts_with("40")).await;
        polling
    }

    /// GETs until a packet matches `found` (answering pings); returns that packet.
    async fn poll_until(&self, found: impl Fn(&str) -> bool) -> String {
        loop {
            let (status, body) = self.get(&self.sid).await;
            assert_eq!(status, 200, "polling: {body}");
            // Packets of one poll are separated by the record separator.
            for packet in body.split('\u{1e}') {
                if packet == "2" {
                    assert_eq!(self.post(&self.sid, "3").await, 200);
                } else if found(packet) {
                    return packet.to_string();
                }
            }
        }
    }

    /// POSTs `body` as session `sid` (anyone's); returns the HTTP status.
    pub async fn post(&self, sid: &str, body: &str) -> u16 {
        self.http
            .post(self.url(sid))
            .body(body.to_string())
            .send()
            .await
            .expect("a polling POST")
            .status()
            .as_u16()
    }

    /// GETs the frames waiting for session `sid` (anyone's); returns the status and the body.
    pub async fn get(&self, sid: &str) -> (u16, String) {
        let response = tokio::time::timeout(WAIT, self.http.get(self.url(sid)).send())
            .await
            .expect("a polling GET in time")
            .expect("a polling GET");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Sends `event` with `data` and ack id `id`, then polls until the ack comes.
    pub async fn request(&self, id: u64, event: &str, data: &Value) -> Value {
        let frame = format!("42{id}{}", serde_json::json!([event, data]));
        assert_eq!(self.post(&self.sid, &frame).await, 200);
        let prefix = format!("43{id}[");
        let packet = self.poll_until(|p| p.starts_with(&prefix)).await;
        let mut args: Vec<Value> = serde_json::from_str(&packet[prefix.len() - 1..]).unwrap();
        args.swap_remove(0)
    }

    fn url(&self, sid: &str) -> String {
        // Session ids are URL-safe already (and Engine.IO does not percent-decode them).
        format!("{}/socket.io/?EIO=4&transport=polling&sid={sid}", self.base)
    }
}
