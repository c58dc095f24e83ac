//! Event listeners by event name, as `on(name, handler)` / `off(name, handler)` register them.

use js_sys::Function;

/// Handlers with their event names, in registration order.
#[derive(Default)]
pub(crate) struct Listeners(Vec<(String, Function)>);

impl Listeners {
    pub(crate) fn on(&mut self, name: &str, handler: Function) {
        self.0.push((name.to_string(), handler));
    }

    /// Removes `handler` from `name` (every registration of it).
    pub(crate) fn off(&mut self, name: &str, handler: &Function) {
        self.0.retain(|(n, h)| !(n == name && h == handler));
    }

    /// A copy of the handlers of `name`, to call with no borrow held.
    pub(crate) fn of(&self, name: &str) -> Vec<Function> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, h)| h.clone())
            .collect()
    }
}

/// The listeners of each joined room.
#[derive(Default)]
pub(crate) struct RoomListeners(Vec<(String, Listeners)>);

impl RoomListeners {
    /// The room's listeners, created empty if needed.
    pub(crate) fn room(&mut self, room: &str) -> &mut Listeners {
        let i = match self.0.iter().position(|(r, _)| r == room) {
            Some(i) => i,
            None => {
                self.0.push((room.to_string(), Listeners::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// The handlers of `name` in `room`.
    pub(crate) fn of(&self, room: &str, name: &str) -> Vec<Function> {
        self.0
            .iter()
            .find(|(r, _)| r == room)
            .map(|(_, l)| l.of(name))
            .unwrap_or_default()
    }

    pub(crate) fn remove(&mut self, room: &str) {
        self.0.retain(|(r, _)| r != room);
    }
}
