//! What the subscriber connection receives: room messages (to deliver), control messages (to the
//! backend API), subscription confirmations (a room resubscribed after a loss is resynced) and
//! the loss of the connection itself.

use std::collections::HashSet;

use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc;

use super::delivery::{Delivery, RawBusMessage};
use super::subscriptions::Subscriptions;
use crate::redis::keys;

/// Sorts what arrives on the subscriber connection.
pub(crate) struct Inbox {
    control: HashSet<String>,
    control_tx: mpsc::UnboundedSender<Vec<u8>>,
    deliveries: mpsc::UnboundedSender<Delivery>,
    subscriptions: Subscriptions,
    /// The connection was lost and nothing has been resubscribed since.
    lost: bool,
}

impl Inbox {
    pub(crate) fn new(
        control: Vec<String>,
        control_tx: mpsc::UnboundedSender<Vec<u8>>,
        deliveries: mpsc::UnboundedSender<Delivery>,
        subscriptions: Subscriptions,
    ) -> Self {
        Self {
            control: control.into_iter().collect(),
            control_tx,
            deliveries,
            subscriptions,
            lost: false,
        }
    }

    /// Handles pushes until the connection is gone for good.
    pub(crate) async fn run(mut self, mut pushes: mpsc::UnboundedReceiver<PushInfo>) {
        while let Some(push) = pushes.recv().await {
            self.handle(push);
        }
    }

    fn handle(&mut self, push: PushInfo) {
        let mut data = push.data.into_iter();
        match push.kind {
            PushKind::Message | PushKind::SMessage => {
                let (Some(channel), Some(Value::BulkString(payload))) = (data.next(), data.next())
                else {
                    return;
                };
                let channel = text(channel);
                if self.control.contains(&channel) {
                    let _ = self.control_tx.send(payload);
                    return;
                }
                match serde_json::from_slice::<RawBusMessage>(&payload) {
                    Ok(message) => {
                        let _ = self.deliveries.send(Delivery::Raw(message));
                    }
                    Err(err) => tracing::warn!(%err, %channel, "ignoring a malformed bus message"),
                }
            }
            PushKind::Subscribe | PushKind::SSubscribe => {
                let Some(channel) = data.next().map(text) else {
                    return;
                };
                if self.lost {
                    self.lost = false;
                    tracing::info!("bus subscription restored; resyncing this node's rooms");
                }
                if let Some(room) = keys::room_of_channel(&channel)
                    && self.subscriptions.confirmed(room)
                {
                    let _ = self.deliveries.send(Delivery::Resync(room.to_string()));
                }
            }
            PushKind::Disconnection => {
                let rooms = self.subscriptions.lost();
                if !self.lost {
                    self.lost = true;
                    tracing::warn!(rooms, "bus subscription lost; resubscribing");
                }
            }
            _ => {}
        }
    }
}

/// A channel name as text.
fn text(value: Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Value::SimpleString(s) => s,
        _ => String::new(),
    }
}
