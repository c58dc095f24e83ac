//! How this node hands a room's presence to its local members, each as it asked at its join
//! (docs/protocol.md, "Large rooms"): one `presence:event` per change, the window's events in one
//! `presence:events` frame (`batch: true`), or only the room's count (`presence:count`).
//!
//! The bus routes every `presence:event` here ([`crate::bus::Bus::route`]) instead of emitting it
//! to the whole Socket.IO room. A window's batch is written once and the same frame goes to each
//! batched member; a count member costs nothing per event, only one number per interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtm_protocol::events;
use rtm_protocol::wire::{PresenceCount, PresenceLevel};
use serde_json::value::RawValue;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;

use crate::bus::emit_each;

/// This node's members of each room, by how they take presence.
pub(crate) struct Fanout {
    rooms: Mutex<HashMap<String, Arc<Mutex<LocalRoom>>>>,
    /// A batched member's window (zero: events go out one by one to everyone).
    batch: Duration,
}

/// A room's local members, kept apart by how they take presence: an event costs one step per
/// member that gets it, not per member of the room.
#[derive(Default)]
struct LocalRoom {
    /// `"events"` members that get each event at once.
    single: HashMap<Sid, SocketRef>,
    /// `"events"` members that get the window's events in one frame, each with whether its
    /// last heartbeat's digest was set aside (see [`Fanout::defer_digest`]).
    batched: HashMap<Sid, (SocketRef, bool)>,
    /// `"count"` members, with the count each was told last.
    counted: HashMap<Sid, (SocketRef, Option<u64>)>,
    /// The current window's events, as JSON text, for the batched members.
    pending: Vec<Box<RawValue>>,
    /// A flush of `pending` is scheduled.
    flushing: bool,
    /// Something happened in the room since its count was last looked at.
    count_dirty: bool,
}

impl LocalRoom {
    fn remove(&mut self, socket: Sid) {
        self.single.remove(&socket);
        self.batched.remove(&socket);
        self.counted.remove(&socket);
    }

    fn is_empty(&self) -> bool {
        self.single.is_empty() && self.batched.is_empty() && self.counted.is_empty()
    }
}

impl Fanout {
    /// A fan-out whose batched members get a frame per `batch` window.
    pub(crate) fn new(batch: Duration) -> Self {
        Self {
            rooms: Mutex::default(),
            batch,
        }
    }

    fn room(&self, room: &str) -> Option<Arc<Mutex<LocalRoom>>> {
        self.rooms.lock().expect("fanout lock").get(room).cloned()
    }

    /// `socket` takes `room`'s presence at `level` (a rejoin replaces how it did).
    pub(crate) fn add(&self, socket: &SocketRef, room: &str, level: PresenceLevel, batch: bool) {
        // The rooms' lock is held until the member is in: a `remove` of the room's last member
        // meanwhile must not drop the room this member goes into.
        let mut rooms = self.rooms.lock().expect("fanout lock");
        let local = rooms.entry(room.to_string()).or_default().clone();
        let mut local_room = local.lock().expect("room lock");
        local_room.remove(socket.id);
        let socket = socket.clone();
        match level {
            PresenceLevel::Count => {
                local_room.counted.insert(socket.id, (socket, None));
            }
            PresenceLevel::Events if batch && !self.batch.is_zero() => {
                local_room.batched.insert(socket.id, (socket, false));
            }
            PresenceLevel::Events => {
                local_room.single.insert(socket.id, socket);
            }
        }
    }

    /// `socket` no longer takes `room`'s presence.
    pub(crate) fn remove(&self, socket: Sid, room: &str) {
        let mut rooms = self.rooms.lock().expect("fanout lock");
        let Some(local) = rooms.get(room) else {
            return;
        };
        let mut local_room = local.lock().expect("room lock");
        local_room.remove(socket);
        if local_room.is_empty() {
            drop(local_room);
            rooms.remove(room);
        }
    }

    /// Hands a `presence:event` of `room` (JSON text) to its local members.
    pub(crate) fn deliver(self: &Arc<Self>, room: &str, event: &RawValue) {
        let Some(local) = self.room(room) else {
            return;
        };
        let now: Vec<SocketRef> = {
            let mut local_room = local.lock().expect("room lock");
            local_room.count_dirty = true;
            if !local_room.batched.is_empty() {
                local_room.pending.push(event.to_owned());
                if !local_room.flushing {
                    local_room.flushing = true;
                    let (fanout, room) = (self.clone(), room.to_string());
                    tokio::spawn(async move {
                        tokio::time::sleep(fanout.batch).await;
                        fanout.flush(&room);
                    });
                }
            }
            local_room.single.values().cloned().collect()
        };
        emit_each(&now, events::PRESENCE_EVENT, event, room);
    }

    /// Sends the window's events of `room` to its batched members.
    fn flush(&self, room: &str) {
        if let Some(local) = self.room(room) {
            flush_pending(room, &mut local.lock().expect("room lock"));
        }
    }

    /// Sends `sync` (a `presence:sync` of `room`, JSON text) to the room's `"events"` members,
    /// after the events of the window so far; count members get their count at the next tick.
    pub(crate) fn sync(&self, room: &str, sync: &RawValue) {
        let Some(local) = self.room(room) else {
            return;
        };
        let mut local_room = local.lock().expect("room lock");
        flush_pending(room, &mut local_room);
        local_room.count_dirty = true;
        let members: Vec<SocketRef> = local_room
            .single
            .values()
            .cloned()
            .chain(
                local_room
                    .batched
                    .values()
                    .map(|(socket, _)| socket.clone()),
            )
            .collect();
        emit_each(&members, events::PRESENCE_SYNC, sync, room);
    }

    /// Whether the heartbeat digest of `socket` in `room` is to be set aside: it is a batched
    /// member and the room has events not yet sent to it (its view lags them by design, so the
    /// digests differ without anything lost). Only one heartbeat in a row is: in a room never
    /// quiet, the next one is compared all the same (the window's events are sent first, so
    /// that they reach the member before the answer's snapshot), and a view that did miss
    /// something still heals within two heartbeat intervals.
    pub(crate) fn defer_digest(&self, socket: Sid, room: &str) -> bool {
        let Some(local) = self.room(room) else {
            return false;
        };
        let mut local_room = local.lock().expect("room lock");
        let pending = !local_room.pending.is_empty();
        let Some((_, deferred)) = local_room.batched.get_mut(&socket) else {
            return false;
        };
        let defer = pending && !*deferred;
        *deferred = defer;
        if pending && !defer {
            flush_pending(room, &mut local_room);
        }
        defer
    }

    /// Rooms with `"count"` members where something happened since the last look (the look
    /// clears it).
    pub(crate) fn counts_due(&self) -> Vec<String> {
        let rooms: Vec<(String, Arc<Mutex<LocalRoom>>)> = self
            .rooms
            .lock()
            .expect("fanout lock")
            .iter()
            .map(|(room, local)| (room.clone(), local.clone()))
            .collect();
        rooms
            .into_iter()
            .filter(|(_, local)| {
                let mut local_room = local.lock().expect("room lock");
                let due = local_room.count_dirty && !local_room.counted.is_empty();
                local_room.count_dirty = false;
                due
            })
            .map(|(room, _)| room)
            .collect()
    }

    /// Marks `room` for another look at its count (its read failed).
    pub(crate) fn recount(&self, room: &str) {
        if let Some(local) = self.room(room) {
            local.lock().expect("room lock").count_dirty = true;
        }
    }

    /// Tells `room`'s `"count"` member `socket` the room's `count` (right after its join).
    pub(crate) fn send_count(&self, room: &str, count: u64, socket: Sid) {
        let told = self.to_tell(room, count, Some(socket));
        if let Some(data) = count_frame(room, count) {
            emit_each(&told, events::PRESENCE_COUNT, &data, room);
        }
        self.retell_unconnected(room, &told);
    }

    /// Tells `room`'s `"count"` members the room's `count`, each only when it is not what it
    /// was told last, a chunk of sockets at a time: an audience of thousands does not hold a
    /// worker thread for the whole of it.
    pub(crate) async fn broadcast_count(&self, room: &str, count: u64) {
        let told = self.to_tell(room, count, None);
        let Some(data) = count_frame(room, count) else {
            return;
        };
        for chunk in told.chunks(EMIT_CHUNK) {
            emit_each(chunk, events::PRESENCE_COUNT, &data, room);
            tokio::task::yield_now().await;
        }
        self.retell_unconnected(room, &told);
    }

    /// The count members among `told` whose socket was not connected when told: they are told
    /// again at the counter's next tick. socketioxide marks a socket connected only after it has
    /// sent the CONNECT answer, from a task of its own, so a join can run and its count be
    /// dropped (`emit` refuses a socket not yet connected) in between; a socket that really went
    /// leaves the fan-out when its disconnect is handled.
    fn retell_unconnected(&self, room: &str, told: &[SocketRef]) {
        let missed: Vec<Sid> = told
            .iter()
            .filter(|socket| !socket.connected())
            .map(|socket| socket.id)
            .collect();
        if missed.is_empty() {
            return;
        }
        let Some(local) = self.room(room) else {
            return;
        };
        let mut local_room = local.lock().expect("room lock");
        for sid in missed {
            if let Some((_, told_last)) = local_room.counted.get_mut(&sid) {
                *told_last = None;
            }
        }
        local_room.count_dirty = true;
    }

    /// The `"count"` members of `room` (only `socket` when given) not told `count` yet, marked
    /// as told.
    fn to_tell(&self, room: &str, count: u64, socket: Option<Sid>) -> Vec<SocketRef> {
        let Some(local) = self.room(room) else {
            return Vec::new();
        };
        let mut local_room = local.lock().expect("room lock");
        let mut told = Vec::new();
        let tell = |(member, told_last): &mut (SocketRef, Option<u64>)| {
            if *told_last != Some(count) {
                *told_last = Some(count);
                told.push(member.clone());
            }
        };
        match socket {
            Some(sid) => local_room.counted.get_mut(&sid).into_iter().for_each(tell),
            None => local_room.counted.values_mut().for_each(tell),
        }
        told
    }
}

/// How many sockets the counter emits to before it lets other tasks run.
const EMIT_CHUNK: usize = 256;

/// A `presence:count` of `room` as JSON text.
fn count_frame(room: &str, count: u64) -> Option<Box<RawValue>> {
    let data = PresenceCount {
        room_id: room.to_string(),
        count,
    }
    .to_json();
    serde_json::value::to_raw_value(&data).ok()
}

/// Emits the room's pending events to its batched members as one `presence:events` frame.
fn flush_pending(room: &str, local_room: &mut LocalRoom) {
    local_room.flushing = false;
    let pending = std::mem::take(&mut local_room.pending);
    if pending.is_empty() {
        return;
    }
    let batched: Vec<SocketRef> = local_room
        .batched
        .values()
        .map(|(socket, _)| socket.clone())
        .collect();
    if batched.is_empty() {
        return;
    }
    // The frame is written once from the events' JSON text, not parsed and written again.
    let mut frame = String::with_capacity(
        32 + room.len() + pending.iter().map(|e| e.get().len() + 1).sum::<usize>(),
    );
    frame.push_str("{\"roomId\":");
    frame.push_str(&serde_json::to_string(room).expect("a string serializes"));
    frame.push_str(",\"events\":[");
    for (i, event) in pending.iter().enumerate() {
        if i > 0 {
            frame.push(',');
        }
        frame.push_str(event.get());
    }
    frame.push_str("]}");
    match RawValue::from_string(frame) {
        Ok(frame) => emit_each(&batched, events::PRESENCE_EVENTS, &frame, room),
        Err(err) => tracing::error!(%err, %room, "a presence batch could not be written"),
    }
}
