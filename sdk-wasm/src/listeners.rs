//! Event listeners by event name, as `on(name, handler)` / `off(name, handler)` register them.

use std::collections::HashMap;

use js_sys::Function;

/// Handlers by event name.
#[derive(Default)]
pub(crate) struct Listeners(HashMap<String, Vec<Function>>);

impl Listeners {
    pub(crate) fn on(&mut self, name: &str, handler: Function) {
        self.0.entry(name.to_string()).or_default().push(handler);
    }

    /// Removes `handler` from `name` (every registration of it).
    pub(crate) fn off(&mut self, name: &str, handler: &Function) {
        if let Some(list) = self.0.get_mut(name) {
            list.retain(|h| h != handler);
        }
    }

    /// A copy of the handlers of `name`, to call with no borrow held.
    pub(crate) fn of(&self, name: &str) -> Vec<Function> {
        self.0.get(name).cloned().unwrap_or_default()
    }
}
