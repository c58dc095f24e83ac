//! A Socket.IO test client on `rust_socketio`: requests with acks, and the events it received,
//! in order.

use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::WAIT;

#[derive(Debug)]
enum Incoming {
    Connected,
    Error(String),
    Closed,
    Event(String, Value),
}

/// A connected Socket.IO client.
pub struct TestClient {
    client: Client,
    incoming: Mutex<mpsc::UnboundedReceiver<Incoming>>,
}

fn first_value(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
        Payload::Text(_) => Value::Null,
        #[allow(deprecated)]
        Payload::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        Payload::Binary(b) => Value::String(format!("<{} bytes>", b.len())),
    }
}

impl TestClient {
    /// Connects to `url` (with `auth` in the handshake); `Err` with the server's connect error.
    pub async fn connect_with(url: &str, auth: Option<Value>) -> Result<Self, String> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut builder = ClientBuilder::new(url)
            .transport_type(TransportType::Websocket)
            .reconnect(false);
        if let Some(auth) = auth {
            builder = builder.auth(auth);
        }
        let on = |tx: mpsc::UnboundedSender<Incoming>, make: fn(Payload) -> Incoming| {
            move |payload: Payload, _: Client| {
                let _ = tx.send(make(payload));
                async {}.boxed()
            }
        };
        let any_tx = tx.clone();
        let client = builder
            .on(Event::Connect, on(tx.clone(), |_| Incoming::Connected))
            .on(Event::Close, on(tx.clone(), |_| Incoming::Closed))
            .on(
                Event::Error,
                on(tx.clone(), |p| Incoming::Error(first_value(p).to_string())),
            )
            .on_any(move |event, payload, _| {
                let _ = any_tx.send(Incoming::Event(String::from(event), first_value(payload)));
                async {}.boxed()
            })
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(Incoming::Connected)) => Ok(Self {
                client,
                incoming: Mutex::new(rx),
            }),
            Ok(Some(Incoming::Error(e))) => Err(e),
            other => Err(format!("no CONNECT answer: {other:?}")),
        }
    }

    /// Connects without auth, panicking on failure.
    pub async fn connect(url: &str) -> Self {
        Self::connect_with(url, None).await.expect("connect")
    }

    /// Sends `event` with `payload` and returns the ack (panics after [`WAIT`]).
    pub async fn request(&self, event: &str, payload: Value) -> Value {
        self.request_payload(event, Payload::Text(vec![payload]))
            .await
    }

    /// Sends `event` with no argument at all and returns the ack.
    pub async fn request_without_payload(&self, event: &str) -> Value {
        self.request_payload(event, Payload::Text(vec![])).await
    }

    async fn request_payload(&self, event: &str, payload: Payload) -> Value {
        let (tx, rx) = oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        self.client
            .emit_with_ack(event, payload, WAIT, move |payload: Payload, _| {
                if let Some(tx) = tx.lock().unwrap().take() {
                    // rust_socketio hands an ack's whole argument list over as one array.
                    let ack = match first_value(payload) {
                        Value::Array(mut args) if args.len() == 1 => args.swap_remove(0),
                        other => other,
                    };
                    let _ = tx.send(ack);
                }
                async {}.boxed()
            })
            .await
            .expect("emit");
        tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("no ack for {event}"))
            .expect("ack callback dropped")
    }

    /// Sends `event` without asking for an ack.
    pub async fn emit(&self, event: &str, payload: Value) {
        self.client.emit(event, payload).await.expect("emit");
    }

    /// Waits for the next event named `name` matching `pred`, dropping other events before it.
    pub async fn expect(&self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let mut rx = self.incoming.lock().await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Incoming::Event(event, data))) if event == name && pred(&data) => {
                    return data;
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("client gone while waiting for {name}"),
                Err(_) => panic!("no {name} event matching within {WAIT:?}"),
            }
        }
    }

    /// Every event received up to and including the first `name` event matching `pred`.
    pub async fn events_until(
        &self,
        name: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<(String, Value)> {
        let mut rx = self.incoming.lock().await;
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Incoming::Event(event, data))) => {
                    let done = event == name && pred(&data);
                    seen.push((event, data));
                    if done {
                        return seen;
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("client gone while waiting for {name}"),
                Err(_) => panic!("no {name} event matching within {WAIT:?}; got {seen:?}"),
            }
        }
    }

    /// Disconnects.
    pub async fn disconnect(&self) {
        let _ = self.client.disconnect().await;
    }
}
