//! Listeners by event name, as `on(name, handler)` and `off(name, handler)` register them.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Handlers with their event names, in registration order.
#[derive(Default)]
pub(crate) struct Listeners(Vec<(String, Function)>);

impl Listeners {
    /// Adds `handler` for `name`; throws a `TypeError` when it is not a function.
    pub(crate) fn on(&mut self, name: &str, handler: JsValue) -> Result<(), JsValue> {
        let handler = handler
            .dyn_into::<Function>()
            .map_err(|_| js_sys::TypeError::new("a listener must be a function"))?;
        self.0.push((name.to_string(), handler));
        Ok(())
    }

    /// Removes every registration of `handler` for `name`.
    pub(crate) fn off(&mut self, name: &str, handler: &JsValue) {
        self.0
            .retain(|(n, h)| !(n == name && JsValue::from(h) == *handler));
    }

    /// The handlers of `name` (a copy, to call with no borrow held).
    pub(crate) fn of(&self, name: &str) -> Vec<Function> {
        let named = self.0.iter().filter(|(n, _)| n == name);
        named.map(|(_, h)| h.clone()).collect()
    }
}

/// Calls each handler with `value`. One that throws does not stop the others: its error is
/// reported as a DOM event listener's would be (`reportError`, else `console.error`).
pub(crate) fn notify(handlers: &[Function], value: &JsValue) {
    for handler in handlers {
        if let Err(thrown) = handler.call1(&JsValue::UNDEFINED, value) {
            report(&thrown);
        }
    }
}

fn report(thrown: &JsValue) {
    let global = js_sys::global();
    let console = Reflect::get(&global, &"console".into()).unwrap_or_default();
    let reporter = Reflect::get(&global, &"reportError".into())
        .ok()
        .filter(JsValue::is_function)
        .map(|f| (f, JsValue::UNDEFINED))
        .or_else(|| {
            let error = Reflect::get(&console, &"error".into()).ok()?;
            error.is_function().then_some((error, console))
        });
    if let Some((f, this)) = reporter {
        let _ = f.unchecked_into::<Function>().call1(&this, thrown);
    }
}
